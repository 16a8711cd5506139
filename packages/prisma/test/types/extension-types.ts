/**
 * Compile-time contract of fileFields(), type-checked by types.test.ts (never executed).
 * Each `@ts-expect-error` must be an error, or the check fails ("unused directive").
 */
import { FieldFile, type FileFieldDefinition, MemoryStorage } from '@filefield/core';
import { PrismaClient } from '../../../../prisma/generated/sqlite/client';
import { fileFields } from '../../src';

declare const base: PrismaClient;
const storage = new MemoryStorage();
const prisma = base.$extends(fileFields({ myStorage: { normal: { storage }, default: { storage, default: 'd.txt' } }, attachment: { file: { storage } } }));

export async function results(): Promise<void> {
  const row = await prisma.myStorage.findFirstOrThrow();
  const normal: FieldFile = row.normal;
  const fallback: FieldFile = row.default;
  // @ts-expect-error a configured column is a FieldFile on results, not a string
  const asString: string = row.normal;
  // An unconfigured String column keeps its type.
  const random: string | null = row.random;
  const id: number = row.id;

  const selected = await prisma.myStorage.findUniqueOrThrow({ where: { id }, select: { normal: true } });
  const selectedFile: FieldFile = selected.normal;
  // @ts-expect-error not selected
  void selected.default;

  const attachment = await prisma.attachment.findFirstOrThrow({ include: { owner: true } });
  const file: FieldFile = attachment.file;
  const nested: FieldFile | undefined = attachment.owner?.normal;

  const created = await prisma.myStorage.create({ data: { normal: 'tests/a.txt' } });
  const createdFile: FieldFile = created.normal;
  // @ts-expect-error data takes names (strings), not FieldFiles
  await prisma.myStorage.update({ where: { id }, data: { normal: created.normal } });
  await prisma.myStorage.update({ where: { id }, data: { normal: created.normal.name } });

  await prisma.$transaction(async (tx) => {
    const inTransaction: FieldFile = (await tx.myStorage.findFirstOrThrow()).normal;
    void inTransaction;
  });

  const revived = prisma.myStorage.revive({ id: 1, normal: 'tests/a.txt', random: null });
  const revivedFile: FieldFile = revived.normal;
  const revivedRandom: null = revived.random;
  const definition: FileFieldDefinition = prisma.myStorage.fileField('normal');
  // @ts-expect-error 'random' is not a configured file field
  prisma.myStorage.fileField('random');
  void [normal, fallback, asString, random, selectedFile, file, nested, createdFile, revivedFile, revivedRandom, definition];
}

export function configuration(): void {
  // @ts-expect-error 'myStorag' is not a model of this client
  base.$extends(fileFields({ myStorag: { normal: { storage } } }));
  // @ts-expect-error MyStorage has no column 'normall'
  base.$extends(fileFields({ myStorage: { normall: { storage } } }));
  // @ts-expect-error 'id' is an Int column, not a String one
  base.$extends(fileFields({ myStorage: { id: { storage } } }));
  // @ts-expect-error options are checked too
  base.$extends(fileFields({ myStorage: { normal: { storage, maxLenght: 10 } } }));
}
