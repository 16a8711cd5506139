export { describeStorage, type ConformanceOptions, type StorageFactory } from './describe-storage';
