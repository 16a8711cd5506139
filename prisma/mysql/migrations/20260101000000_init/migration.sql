-- CreateTable
CREATE TABLE `ff_prisma_my_storage` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `normal` VARCHAR(100) NULL,
    `default` VARCHAR(100) NULL,
    `random` VARCHAR(100) NULL,

    INDEX `ff_prisma_my_storage_normal_idx`(`normal`),
    INDEX `ff_prisma_my_storage_default_idx`(`default`),
    INDEX `ff_prisma_my_storage_random_idx`(`random`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `ff_prisma_attachment` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `label` VARCHAR(100) NOT NULL,
    `file` VARCHAR(100) NULL,
    `ownerId` INTEGER NULL,

    UNIQUE INDEX `ff_prisma_attachment_label_key`(`label`),
    INDEX `ff_prisma_attachment_file_idx`(`file`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `ff_prisma_attachment` ADD CONSTRAINT `ff_prisma_attachment_ownerId_fkey` FOREIGN KEY (`ownerId`) REFERENCES `ff_prisma_my_storage`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE;
