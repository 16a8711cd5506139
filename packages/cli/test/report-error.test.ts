/** The last line of defence in error output: passwords a driver's message might quote are masked. */
import { describeError, exitCodeOf, mask } from '../src/report-error';
import { ConfigurationError, LedgerError } from '@filefield/core';
import { UsageError } from '../src/errors';

test('passwords in URLs and password= pairs are masked', () => {
  expect(mask('connect postgres://app:s3cr3t@db.internal:5432/app failed')).toBe('connect postgres://app:***@db.internal:5432/app failed');
  expect(mask('host=db user=app password=s3cr3t dbname=app')).toBe('host=db user=app password=*** dbname=app');
  expect(mask('mysql://root@127.0.0.1/test')).toBe('mysql://root@127.0.0.1/test');
});

test('one line: name and message, whitespace collapsed; an AggregateError without a message is its first error', () => {
  expect(describeError(new LedgerError('two\n  lines'))).toBe('LedgerError: two lines');
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });
  expect(describeError(new AggregateError([refused], ''))).toBe('Error: connect ECONNREFUSED 127.0.0.1:5433');
});

test('exit code 2 for usage and configuration errors, 1 for the rest', () => {
  expect(exitCodeOf(new UsageError('x'))).toBe(2);
  expect(exitCodeOf(new ConfigurationError('x'))).toBe(2);
  expect(exitCodeOf(new LedgerError('x'))).toBe(1);
  expect(exitCodeOf(new Error('x'))).toBe(1);
});
