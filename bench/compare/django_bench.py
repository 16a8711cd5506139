#!/usr/bin/env python3
"""bench/compare, the django-storages column: a Django model with a FileField on S3Boto3Storage.

Run by bench/compare/dist/run.js with BENCH_COLUMN (JSON, the ColumnConfig of shared.ts) in the
environment; before each step it prints a gate line and waits for the driver's go on stdin, as
shared.ts does; last it prints one JSON line (the ColumnResult of shared.ts). Django is configured
in-process (SQLite in memory, the models' tables made by the schema editor), so no project or
app directory is needed. Needs Debian's python3-django, python3-django-storages and
python3-boto3 (Django 3.2, django-storages 1.13.2, boto3 1.26): run it with /usr/bin/python3.

Requests are counted with botocore's before-send event, which fires once per attempt after
signing, like recordRequests() on the Node side.
"""
import hashlib
import json
import os
import platform
import sys
import threading
import time
from collections import Counter


def main():
    config = json.loads(os.environ['BENCH_COLUMN'])

    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        INSTALLED_APPS=[],
        DEFAULT_AUTO_FIELD='django.db.models.AutoField',
        DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}},
        DEFAULT_FILE_STORAGE='storages.backends.s3boto3.S3Boto3Storage',
        AWS_ACCESS_KEY_ID=config['accessKeyId'],
        AWS_SECRET_ACCESS_KEY=config['secretAccessKey'],
        AWS_STORAGE_BUCKET_NAME=config['bucket'],
        AWS_S3_ENDPOINT_URL=config['endpoint'],
        AWS_S3_REGION_NAME=config['region'],
        AWS_S3_ADDRESSING_STYLE='path',
        AWS_LOCATION=config['prefix'],
        # Step 1 needs Django's renaming (HEAD per candidate); the other steps use a storage with
        # django-storages' default (overwrite, no HEAD), as most projects run it.
        AWS_S3_FILE_OVERWRITE=False,
    )
    django.setup()

    import boto3
    import botocore
    import storages
    from django.core.files.base import ContentFile, File
    from django.core.files.storage import default_storage
    from django.db import connection, models
    from storages.backends.s3boto3 import S3Boto3Storage

    overwriting = S3Boto3Storage(file_overwrite=True)
    # Step 8: the same bucket behind a custom domain (AWS_S3_CUSTOM_DOMAIN: unsigned URLs).
    custom = S3Boto3Storage(custom_domain=config['customDomain'], querystring_auth=False)

    class Renamed(models.Model):
        file = models.FileField()

        class Meta:
            app_label = 'bench'

    class Doc(models.Model):
        file = models.FileField(storage=overwriting)

        class Meta:
            app_label = 'bench'

    with connection.schema_editor() as editor:
        editor.create_model(Renamed)
        editor.create_model(Doc)

    requests = Counter()
    lock = threading.Lock()  # s3transfer sends parts from its own threads

    def count(request, **kwargs):
        with lock:
            requests[request.method] += 1

    # storage.connection is per thread; the one made here is the one every call below uses (the
    # bucket resource is cached from it, and s3transfer's threads get its client).
    for storage in (default_storage, overwriting):
        storage.connection.meta.client.meta.events.register('before-send.s3', count)

    def peak_rss():
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
        raise RuntimeError('bench/compare measures peak RSS from /proc/self/status (Linux)')

    def step(name, work):
        # The driver's gate (shared.ts): announce the step, wait for the go on stdin.
        sys.stdout.write(json.dumps({'gate': name}) + '\n')
        sys.stdout.flush()
        if not sys.stdin.readline():
            raise RuntimeError(f'bench/compare: the driver closed stdin before step {name}')
        requests.clear()
        # Linux: resets the peak RSS (VmHWM) to the current RSS, as shared.ts does for Node.
        with open('/proc/self/clear_refs', 'w') as clear:
            clear.write('5')
        baseline = peak_rss()
        started = time.perf_counter()
        work()
        ms = (time.perf_counter() - started) * 1000
        with lock:
            return {'step': name, 'ms': ms, 'requests': dict(requests), 'rssGrowth': peak_rss() - baseline}

    def pipeline(tag, saves, path, sha256, orphans):
        payload = b'a' * config['smallBytes']
        results = []

        def same_name():
            for _ in range(saves):
                Renamed().file.save(f'{tag}same.txt', ContentFile(payload))

        def distinct():
            for i in range(saves):
                Doc().file.save(f'{tag}doc-{i}.txt', ContentFile(payload))

        def distinct_safe():
            # file_overwrite=False: get_available_name asks exists() (a HEAD) before each PUT.
            for i in range(saves):
                Renamed().file.save(f'{tag}safe-{i}.txt', ContentFile(payload))

        def remove_safe():
            for row in Renamed.objects.filter(file__startswith=f'{tag}safe-'):
                row.file.delete(save=False)
                row.delete()

        big = Doc()

        def upload():
            with open(path, 'rb') as handle:
                big.file.save(f'{tag}big.bin', File(handle))

        def read():
            row = Doc.objects.get(pk=big.pk)
            digest = hashlib.sha256()
            row.file.open('rb')
            try:
                for chunk in row.file.chunks(chunk_size=config['chunkBytes']):
                    digest.update(chunk)
            finally:
                row.file.close()
            if digest.hexdigest() != sha256:
                raise RuntimeError(f'django: {row.file.name} read back with another sha256')

        def delete():
            # Django deletes no files with the row: each one is deleted by hand, then the row.
            for model in (Renamed, Doc):
                for row in model.objects.all():
                    row.file.delete(save=False)
                    row.delete()

        def delete_orphans():
            # django-storages lists and deletes one object at a time; the rows are asked per page.
            _, files = overwriting.listdir(orphans)
            for start in range(0, len(files), 1000):
                page = [f'{orphans}/{name}' for name in files[start:start + 1000]]
                named = set(Doc.objects.filter(file__in=page).values_list('file', flat=True))
                for name in page:
                    if name not in named:
                        overwriting.delete(name)

        signed = []

        def presigned_urls():
            for i in range(config['urlCalls']):
                signed[i % len(signed)].file.url

        def custom_urls():
            for i in range(config['urlCalls']):
                custom.url(signed[i % len(signed)].file.name)

        results.append(step('same-name', same_name))
        results.append(step('distinct', distinct))
        results.append(step('distinct-safe', distinct_safe))
        # Not measured: step 5 deletes the files of steps 1 to 3, as it did before this step existed.
        remove_safe()
        results.append(step('upload', upload))
        results.append(step('read', read))
        # Steps 7 and 8 sign the rows of step 2 (they are deleted in step 5).
        signed.extend(row for row in Doc.objects.all() if row.file.name.startswith(f'{tag}doc-'))
        results.append(step('delete', delete))
        results.append(step('orphans', delete_orphans))
        results.append(step('url-presigned', presigned_urls))
        results.append(step('url-custom', custom_urls))
        return results

    pipeline('warm-', config['warmSaves'], config['warmFile'], config['warmSha256'], 'warm-orphans')
    steps = pipeline('', config['saves'], config['bigFile'], config['bigSha256'], 'orphans')
    versions = {
        'python': platform.python_version(),
        'django': django.get_version(),
        'django-storages': storages.__version__,
        'boto3': boto3.__version__,
        'botocore': botocore.__version__,
    }
    sys.stdout.write(json.dumps({'column': 'django', 'steps': steps, 'versions': versions}) + '\n')


if __name__ == '__main__':
    main()
