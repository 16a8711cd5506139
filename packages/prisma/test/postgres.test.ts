import { describeWith } from '../../../test-support/services';
import { describeFileFields } from './support/scenarios';

describeWith('postgres', 'PostgreSQL', () => describeFileFields('postgresql'));
