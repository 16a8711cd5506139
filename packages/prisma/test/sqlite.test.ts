import { describeFileFields } from './support/scenarios';

describeFileFields('sqlite');
