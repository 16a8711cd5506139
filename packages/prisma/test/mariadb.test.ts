import { describeWith } from '../../../test-support/services';
import { describeLifecycle } from './support/lifecycle';
import { describeFileFields } from './support/scenarios';

describeWith('mariadb', 'MariaDB', () => {
  describeFileFields('mysql');
  describeLifecycle('mysql');
});
