import { describeLifecycle } from './support/lifecycle';
import { describeFileFields } from './support/scenarios';

describeFileFields('sqlite');
describeLifecycle('sqlite');
