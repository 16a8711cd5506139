import { ContentTypeValidator, FileExtensionValidator, FileSizeValidator, FileValidationError, clientFileName, sniffContentTypes, validateFile } from '../src';
import type { FileFacts } from '../src';
import { pdfBytes, pngBytes } from './support/http';

function facts(overrides: Partial<FileFacts>): FileFacts {
  const head = overrides.head ?? pngBytes(100);
  return { field: 'avatar', filename: 'a.png', head, sniffedTypes: sniffContentTypes(head), size: undefined, ...overrides };
}

function refusal(check: () => void): { code: string; status: number; field: string | undefined } {
  try {
    check();
  } catch (error) {
    if (!(error instanceof FileValidationError)) throw error;
    return { code: error.code, status: error.status, field: error.field };
  }
  throw new Error('expected a FileValidationError');
}

describe('sniffing', () => {
  it('goes by the bytes: PNG, PDF, text, and unknown binary', () => {
    expect(sniffContentTypes(pngBytes())).toContain('image/png');
    expect(sniffContentTypes(pdfBytes())[0]).toBe('application/pdf');
    expect(sniffContentTypes(Buffer.from('plain words, ünïcode'))).toEqual(['text/plain']);
    expect(sniffContentTypes(Buffer.from([0, 1, 2, 250, 251]))).toEqual(['application/octet-stream']);
  });
});

describe('validators', () => {
  it('FileExtensionValidator compares case-insensitively, with or without the dot', () => {
    const validator = new FileExtensionValidator(['.PNG', 'jpg']);
    expect(() => validateFile([validator], facts({ filename: 'photo.Png' }))).not.toThrow();
    expect(refusal(() => validateFile([validator], facts({ filename: 'photo.gif' })))).toEqual({ code: 'E_FILE_EXTENSION', status: 400, field: 'avatar' });
    expect(refusal(() => validateFile([validator], facts({ filename: 'photo' }))).code).toBe('E_FILE_EXTENSION');
  });

  it('ContentTypeValidator trusts the sniffed type, not the name', () => {
    const images = new ContentTypeValidator(['image/*']);
    expect(() => validateFile([images], facts({}))).not.toThrow();
    const script = Buffer.from('<script>alert(1)</script>');
    expect(refusal(() => validateFile([images], facts({ filename: 'photo.png', head: script })))).toEqual({ code: 'E_FILE_TYPE', status: 415, field: 'avatar' });
    expect(() => validateFile([new ContentTypeValidator(['application/pdf'])], facts({ head: pdfBytes() }))).not.toThrow();
  });

  it('FileSizeValidator checks a known size; the empty check always applies', () => {
    const size = new FileSizeValidator({ maxSize: 100 });
    expect(() => validateFile([size], facts({ size: 100 }))).not.toThrow();
    expect(refusal(() => validateFile([size], facts({ size: 101 })))).toEqual({ code: 'E_FILE_TOO_LARGE', status: 413, field: 'avatar' });
    expect(refusal(() => validateFile([], facts({ size: 0, head: Buffer.alloc(0) })))).toEqual({ code: 'E_FILE_TOO_SMALL', status: 400, field: 'avatar' });
    expect(refusal(() => validateFile([], facts({ head: Buffer.alloc(0) }))).code).toBe('E_FILE_TOO_SMALL');
    expect(() => new FileSizeValidator({ maxSize: 1, minSize: 2 })).toThrow(RangeError);
  });
});

describe('client file names', () => {
  it('are cleaned by the core rules (Django get_valid_filename)', () => {
    expect(clientFileName('my summer photo.png', 'avatar')).toBe('my_summer_photo.png');
    expect(clientFileName('résumé (1).pdf', 'cv')).toBe('résumé_1.pdf');
  });

  it.each([['../../etc/passwd'], ['dir/a.png'], ['a\\b.png'], ['evil\u202Egnp.exe'], ['nul\u0000.png'], ['..'], ['']])('refuses %j with E_FILE_NAME', (name) => {
    expect(refusal(() => clientFileName(name, 'avatar'))).toEqual({ code: 'E_FILE_NAME', status: 400, field: 'avatar' });
  });
});
