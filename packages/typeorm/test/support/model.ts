/**
 * The entities the shared suites use, built per suite so each gets its own tables and storages.
 * Every file field uses `storage` except `OtherStorageDoc`, whose names must never count as
 * references for `storage`.
 */
import type { FieldFile, Storage } from '@filefield/core';
import { Column, DeleteDateColumn, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { FileField } from '../../src';

export function defineModel(prefix: string, storage: Storage, otherStorage: Storage) {
  @Entity(`${prefix}_document`)
  class Document {
    @PrimaryGeneratedColumn() id!: number;
    @Column({ type: 'varchar', length: 50, default: '' }) title!: string;
    @Column({ type: 'varchar', length: 50, nullable: true, unique: true }) slug!: string | null;
    @FileField({ uploadTo: 'docs', storage }) file!: FieldFile;
    @FileField({ uploadTo: 'archive', storage, deleteReplaced: false }) archive!: FieldFile;
    @FileField({ uploadTo: 'covers', storage, default: 'defaults/cover.txt' }) cover!: FieldFile;
  }

  @Entity(`${prefix}_attachment`)
  class Attachment {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage, name: 'blob_name', maxLength: 255 }) blob!: FieldFile;
  }

  @Entity(`${prefix}_album`)
  class Album {
    @PrimaryGeneratedColumn() id!: number;
    @OneToMany(() => Photo, (photo) => photo.album, { cascade: true }) photos!: Photo[];
  }

  @Entity(`${prefix}_photo`)
  class Photo {
    @PrimaryGeneratedColumn() id!: number;
    @ManyToOne(() => Album, (album) => album.photos, { onDelete: 'CASCADE' }) album!: Album;
    @FileField({ storage, uploadTo: 'photos' }) image!: FieldFile;
  }

  @Entity(`${prefix}_soft_doc`)
  class SoftDoc {
    @PrimaryGeneratedColumn() id!: number;
    @DeleteDateColumn() deletedAt?: Date | null;
    @FileField({ storage }) file!: FieldFile;
  }

  @Entity(`${prefix}_other_doc`)
  class OtherStorageDoc {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage: otherStorage }) file!: FieldFile;
  }

  return { Document, Attachment, Album, Photo, SoftDoc, OtherStorageDoc, entities: [Document, Attachment, Album, Photo, SoftDoc, OtherStorageDoc] };
}

export type Model = ReturnType<typeof defineModel>;
