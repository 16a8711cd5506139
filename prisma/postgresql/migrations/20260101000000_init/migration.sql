-- CreateTable
CREATE TABLE "ff_prisma_my_storage" (
    "id" SERIAL NOT NULL,
    "normal" VARCHAR(100),
    "default" VARCHAR(100),
    "random" VARCHAR(100),

    CONSTRAINT "ff_prisma_my_storage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ff_prisma_attachment" (
    "id" SERIAL NOT NULL,
    "label" VARCHAR(100) NOT NULL,
    "file" VARCHAR(100),
    "ownerId" INTEGER,

    CONSTRAINT "ff_prisma_attachment_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "ff_prisma_attachment" ADD CONSTRAINT "ff_prisma_attachment_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "ff_prisma_my_storage"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
