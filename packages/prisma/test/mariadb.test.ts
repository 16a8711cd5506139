import { describeWith } from '../../../test-support/services';
import { describeFileFields } from './support/scenarios';

describeWith('mariadb', 'MariaDB', () => describeFileFields('mysql'));
