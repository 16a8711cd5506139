/**
 * The model of the shared lifecycle suite (`describeFileLifecycle` in @filefield/core/testing),
 * in TypeORM: Doc.file, Doc.cover (with a default) and Attachment.blob on a second storage
 * object with the same id. Built per world, so each gets its own tables.
 */
import type { FieldFile, Storage } from '@filefield/core';
import { Entity, PrimaryGeneratedColumn } from 'typeorm';
import { FileField } from '../../src';

export function defineLifecycleModel(prefix: string, storage: Storage, twin: Storage) {
  @Entity(`${prefix}_doc`)
  class Doc {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ uploadTo: 'docs', storage }) file!: FieldFile;
    @FileField({ uploadTo: 'covers', storage, default: 'defaults/cover.txt' }) cover!: FieldFile;
  }

  @Entity(`${prefix}_attachment`)
  class Attachment {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage: twin, maxLength: 255 }) blob!: FieldFile;
  }

  return { Doc, Attachment, entities: [Doc, Attachment] };
}
