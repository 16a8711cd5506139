#!/usr/bin/env node
// Stand-in for Prisma's schema engine, which this project's machines cannot download.
// `prisma generate` does not run it; `db push` and `migrate` would, so say plainly why they cannot work.
console.error(
  'filefield: no Prisma schema engine here (PRISMA_SCHEMA_ENGINE_BINARY points at this stand-in). ' +
    'Apply prisma/<provider>/migrations/*/migration.sql with the database driver instead.',
);
process.exit(1);
