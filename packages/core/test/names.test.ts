import {
  alternativeName,
  getValidFileName,
  joinName,
  splitName,
  SuspiciousFileOperation,
  validateFileName,
} from '@filefield/core';

describe('validateFileName', () => {
  it.each(['a.txt', 'dir/a.txt', 'deep/dir/a.b.c', 'with space.txt', 'ünïcode.txt', '..hidden', 'a..b.txt', 'emoji 😀.txt', 'trailing space.txt ', '.hidden/x'])(
    'accepts %j',
    (name) => expect(validateFileName(name)).toBe(name),
  );

  it.each([
    ['', /Could not derive file name/],
    ['.', /Could not derive file name/],
    ['..', /Could not derive file name/],
    ['dir/', /Could not derive file name/],
    ['../a.txt', /path traversal attempt in "\.\.\/a\.txt"/],
    ['a/../../b.txt', /path traversal/],
    ['/etc/passwd', /path traversal/],
    ['C:/x.txt', /path traversal/],
    ['a\\..\\b.txt', /backslash/],
    ['nul\0.txt', /control or format character \(U\+0000\)/],
    ['line\nbreak.txt', /control or format character \(U\+000A\)/],
    ['next\u0085line.txt', /U\+0085/],
    ['bidi\u202Egnp.exe', /U\+202E/],
    ['isolate\u2066x.txt', /U\+2066/],
    ['zero\u200Bwidth.txt', /U\+200B/],
    ['bom\uFEFF.txt', /U\+FEFF/],
    ['sep\u2028line.txt', /U\+2028/],
    ['para\u2029.txt', /U\+2029/],
    ['lone\uD800.txt', /U\+D800/],
    ['a/./x.txt', /not canonical.*"a\/x\.txt"/],
    ['a//x.txt', /not canonical.*"a\/x\.txt"/],
    ['./a.txt', /not canonical.*"a\.txt"/],
  ])('refuses %j', (name, message) => {
    expect(() => validateFileName(name)).toThrow(SuspiciousFileOperation);
    expect(() => validateFileName(name)).toThrow(message);
  });

  it('refuses path elements when relative paths are not allowed', () => {
    expect(() => validateFileName('dir/a.txt', { allowRelativePath: false })).toThrow(/includes path elements/);
    expect(validateFileName('a.txt', { allowRelativePath: false })).toBe('a.txt');
  });

  it('gives the error a stable code', () => {
    expect(() => validateFileName('../x')).toThrow(expect.objectContaining({ code: 'E_SUSPICIOUS_NAME' }));
  });
});

describe('getValidFileName', () => {
  it('cleans like Django get_valid_filename', () => {
    expect(getValidFileName("john's portrait in 2004.jpg")).toBe('johns_portrait_in_2004.jpg');
    expect(getValidFileName('  spaced  ')).toBe('spaced');
  });
  it('refuses names that clean to nothing', () => {
    expect(() => getValidFileName('$%^')).toThrow(SuspiciousFileOperation);
    expect(() => getValidFileName('..')).toThrow(SuspiciousFileOperation);
  });
});

describe('joinName and splitName', () => {
  it('normalises and refuses climbing out', () => {
    expect(joinName('tests', 'a.txt')).toBe('tests/a.txt');
    expect(joinName('a//b/./c', 'd.txt')).toBe('a/b/c/d.txt');
    expect(joinName('', 'd.txt')).toBe('d.txt');
    expect(() => joinName('a', '../../d.txt')).toThrow(SuspiciousFileOperation);
  });
  it('splits directory, stem and extension', () => {
    expect(splitName('tests/django_test.txt')).toEqual({ dir: 'tests', stem: 'django_test', ext: '.txt' });
    expect(splitName('random_file')).toEqual({ dir: '', stem: 'random_file', ext: '' });
  });
});

describe('alternativeName', () => {
  it('appends _ and 7 characters from [A-Za-z0-9] before the extension', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const name = alternativeName('tests/django_test.txt');
      expect(name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
      seen.add(name);
    }
    expect(seen.size).toBe(50);
  });

  it('truncates the stem to fit maxLength', () => {
    const name = alternativeName(`dir/${'a'.repeat(50)}.txt`, 30);
    expect(name).toHaveLength(30);
    expect(name).toMatch(/^dir\/a+_[A-Za-z0-9]{7}\.txt$/);
  });

  it('fails clearly when nothing of the stem can remain', () => {
    expect(() => alternativeName('some/dir/abc.txt', 20)).toThrow(/can not find an available filename.*maxLength/);
  });
});
