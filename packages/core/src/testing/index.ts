export { describeStorage, type ConformanceOptions, type StorageFactory } from './describe-storage';
export {
  barrier,
  describeFileLifecycle,
  gate,
  recordDeletions,
  type CrashOptions,
  type LifecycleAdapter,
  type LifecycleFixture,
  type LifecycleSuiteOptions,
  type LifecycleTransaction,
  type LifecycleWorld,
  type StorageFaults,
} from './describe-file-lifecycle';
