-- CreateTable
CREATE TABLE "quickstart_my_storage" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "normal" TEXT,
    "default" TEXT,
    "random" TEXT
);

-- CreateIndex
CREATE INDEX "quickstart_my_storage_normal_idx" ON "quickstart_my_storage"("normal");

-- CreateIndex
CREATE INDEX "quickstart_my_storage_default_idx" ON "quickstart_my_storage"("default");

-- CreateIndex
CREATE INDEX "quickstart_my_storage_random_idx" ON "quickstart_my_storage"("random");
