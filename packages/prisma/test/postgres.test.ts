import { describeWith } from '../../../test-support/services';
import { describeLifecycle } from './support/lifecycle';
import { describeFileFields } from './support/scenarios';

describeWith('postgres', 'PostgreSQL', () => {
  describeFileFields('postgresql');
  describeLifecycle('postgresql');
});
