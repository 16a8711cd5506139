-- CreateTable
CREATE TABLE "ff_prisma_my_storage" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "normal" TEXT,
    "default" TEXT,
    "random" TEXT
);

-- CreateTable
CREATE TABLE "ff_prisma_attachment" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "label" TEXT NOT NULL,
    "file" TEXT,
    "ownerId" INTEGER,
    CONSTRAINT "ff_prisma_attachment_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "ff_prisma_my_storage" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ff_prisma_my_storage_normal_idx" ON "ff_prisma_my_storage"("normal");

-- CreateIndex
CREATE INDEX "ff_prisma_my_storage_default_idx" ON "ff_prisma_my_storage"("default");

-- CreateIndex
CREATE INDEX "ff_prisma_my_storage_random_idx" ON "ff_prisma_my_storage"("random");

-- CreateIndex
CREATE UNIQUE INDEX "ff_prisma_attachment_label_key" ON "ff_prisma_attachment"("label");

-- CreateIndex
CREATE INDEX "ff_prisma_attachment_file_idx" ON "ff_prisma_attachment"("file");
