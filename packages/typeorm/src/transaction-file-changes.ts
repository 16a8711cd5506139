/**
 * The file changes of one QueryRunner's transaction, savepoints included. Each level (the
 * transaction, then each nested savepoint) collects its own PendingFileChanges; a released
 * savepoint hands its changes to the level below, a rolled-back one hands them down marked as
 * rolled back (its removals are void, its uploads orphaned). When the outermost transaction ends
 * everything is settled at once: committed levels delete what they removed or replaced, rolled-back
 * levels delete what they uploaded — always through the core's reference-checked scheduler.
 */
import { type DeletionOutcome, type FileDeletionScheduler, PendingFileChanges, type ReferenceChecker } from '@filefield/core';
import type { EntityFileState } from './entity-state';

export interface SettledChanges {
  changes: PendingFileChanges;
  rolledBack: boolean;
}

interface Level {
  changes: PendingFileChanges;
  settled: SettledChanges[];
}

/** An upload registered for deletion on rollback; forgotten by its entity once the transaction ends. */
interface UploadRef {
  state: EntityFileState;
  property: string;
  name: string;
}

export class TransactionFileChanges {
  private readonly levels: Level[] = [];
  private readonly uploads: UploadRef[] = [];

  /** A transaction or savepoint started. */
  started(): void {
    this.levels.push({ changes: new PendingFileChanges(), settled: [] });
  }

  /** The changes of the innermost open level (created when the transaction began before filefield saw it). */
  current(): PendingFileChanges {
    if (this.levels.length === 0) this.started();
    return this.levels[this.levels.length - 1].changes;
  }

  rememberUpload(state: EntityFileState, property: string, name: string): void {
    this.uploads.push({ state, property, name });
  }

  /**
   * A savepoint was released (`stillActive`) or the transaction committed. Returns the changes to
   * settle when the transaction is over, undefined while it goes on.
   */
  committed(stillActive: boolean): SettledChanges[] | undefined {
    return this.close(stillActive, false);
  }

  /** A savepoint or the transaction was rolled back; as `committed`. */
  rolledBack(stillActive: boolean): SettledChanges[] | undefined {
    return this.close(stillActive, true);
  }

  /** Run the settled changes through the scheduler, then let the entities forget their uploads. */
  async settle(work: SettledChanges[], scheduler: FileDeletionScheduler, checker: ReferenceChecker): Promise<DeletionOutcome> {
    const outcomes = await Promise.all(
      work
        .filter(({ changes }) => !changes.isEmpty)
        .map(({ changes, rolledBack }) => (rolledBack ? changes.rolledBack(scheduler, checker) : changes.committed(scheduler, checker))),
    );
    for (const { state, property, name } of this.uploads.splice(0)) state.uploads?.get(property)?.delete(name);
    return { deleted: outcomes.flatMap((outcome) => outcome.deleted), kept: outcomes.flatMap((outcome) => outcome.kept) };
  }

  private close(stillActive: boolean, rolledBack: boolean): SettledChanges[] | undefined {
    const level = this.levels.pop() ?? { changes: new PendingFileChanges(), settled: [] };
    const closed: SettledChanges[] = [{ changes: level.changes, rolledBack }, ...level.settled];
    if (rolledBack) for (const entry of closed) entry.rolledBack = true;
    if (!stillActive) {
      // The outermost transaction ended: whatever filefield did not see start ends with it.
      const rest = this.levels.splice(0).flatMap((open) => [{ changes: open.changes, rolledBack }, ...open.settled]);
      if (rolledBack) for (const entry of rest) entry.rolledBack = true;
      return [...closed, ...rest];
    }
    if (this.levels.length > 0) {
      this.levels[this.levels.length - 1].settled.push(...closed);
    } else {
      // A savepoint ended whose enclosing transaction began before filefield saw it: keep its
      // changes in a level standing for that transaction.
      this.levels.push({ changes: new PendingFileChanges(), settled: closed });
    }
    return undefined;
  }
}
