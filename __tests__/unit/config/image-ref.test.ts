import { describe, expect, it } from '@jest/globals';
import {
  ImageReferenceError,
  parseImageList,
  parseImageReference,
  splitList,
  type ImageReference,
} from '../../../src/config/image-ref.js';

const SHA256 = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const SHA512 = 'f'.repeat(128);

function refusal(input: string): ImageReferenceError {
  try {
    parseImageReference(input);
  } catch (error) {
    if (error instanceof ImageReferenceError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('parseImageReference: valid references', () => {
  type Expected = Omit<ImageReference, 'original'> & { original?: string };
  const cases: Array<[string, Expected]> = [
    [
      'busybox',
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        normalized: 'docker.io/library/busybox:latest',
      },
    ],
    [
      'docker.io/busybox',
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        normalized: 'docker.io/library/busybox:latest',
      },
    ],
    [
      'index.docker.io/library/busybox:1.36',
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        tag: '1.36',
        normalized: 'docker.io/library/busybox:1.36',
      },
    ],
    [
      'registry-1.docker.io/busybox',
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        normalized: 'docker.io/library/busybox:latest',
      },
    ],
    [
      'user/repo',
      { registry: 'docker.io', repository: 'user/repo', normalized: 'docker.io/user/repo:latest' },
    ],
    [
      'library/busybox:musl',
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        tag: 'musl',
        normalized: 'docker.io/library/busybox:musl',
      },
    ],
    ['localhost/x', { registry: 'localhost', repository: 'x', normalized: 'localhost/x:latest' }],
    [
      'localhost:5000/x:tag',
      {
        registry: 'localhost:5000',
        repository: 'x',
        tag: 'tag',
        normalized: 'localhost:5000/x:tag',
      },
    ],
    [
      '127.0.0.1:5000/a/b',
      { registry: '127.0.0.1:5000', repository: 'a/b', normalized: '127.0.0.1:5000/a/b:latest' },
    ],
    [
      '[::1]:5000/x',
      { registry: '[::1]:5000', repository: 'x', normalized: '[::1]:5000/x:latest' },
    ],
    [
      '[fe80::1]/x:v1',
      { registry: '[fe80::1]', repository: 'x', tag: 'v1', normalized: '[fe80::1]/x:v1' },
    ],
    [
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:sha-abc',
      {
        registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
        repository: 'app',
        tag: 'sha-abc',
        normalized: '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:sha-abc',
      },
    ],
    [
      'public.ecr.aws/eks-distro/kubernetes/pause:3.2',
      {
        registry: 'public.ecr.aws',
        repository: 'eks-distro/kubernetes/pause',
        tag: '3.2',
        normalized: 'public.ecr.aws/eks-distro/kubernetes/pause:3.2',
      },
    ],
    [
      'public.ecr.aws/kubeflow-on-aws/notebook-servers/jupyter-pytorch:1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2',
      {
        registry: 'public.ecr.aws',
        repository: 'kubeflow-on-aws/notebook-servers/jupyter-pytorch',
        tag: '1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2',
        normalized:
          'public.ecr.aws/kubeflow-on-aws/notebook-servers/jupyter-pytorch:1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2',
      },
    ],
    [
      `ghcr.io/o/r@sha256:${SHA256}`,
      {
        registry: 'ghcr.io',
        repository: 'o/r',
        digest: `sha256:${SHA256}`,
        normalized: `ghcr.io/o/r@sha256:${SHA256}`,
      },
    ],
    [
      `ghcr.io/o/r:v1.2.3@sha256:${SHA256}`,
      {
        registry: 'ghcr.io',
        repository: 'o/r',
        tag: 'v1.2.3',
        digest: `sha256:${SHA256}`,
        normalized: `ghcr.io/o/r:v1.2.3@sha256:${SHA256}`,
      },
    ],
    [
      `busybox@sha512:${SHA512}`,
      {
        registry: 'docker.io',
        repository: 'library/busybox',
        digest: `sha512:${SHA512}`,
        normalized: `docker.io/library/busybox@sha512:${SHA512}`,
      },
    ],
    [
      '  quay.io/a__b/c-d--e/f.g_h:Tag_1.-x \t',
      {
        original: 'quay.io/a__b/c-d--e/f.g_h:Tag_1.-x',
        registry: 'quay.io',
        repository: 'a__b/c-d--e/f.g_h',
        tag: 'Tag_1.-x',
        normalized: 'quay.io/a__b/c-d--e/f.g_h:Tag_1.-x',
      },
    ],
    [
      // registry hosts are case-insensitive; normalized to lowercase
      'GHCR.io/o/r',
      { registry: 'ghcr.io', repository: 'o/r', normalized: 'ghcr.io/o/r:latest' },
    ],
    [
      // as in distribution: no '/' after it, so 'localhost' is the repository and 5000 the tag
      'localhost:5000',
      {
        registry: 'docker.io',
        repository: 'library/localhost',
        tag: '5000',
        normalized: 'docker.io/library/localhost:5000',
      },
    ],
    [
      `x:${'t'.repeat(128)}`,
      {
        registry: 'docker.io',
        repository: 'library/x',
        tag: 't'.repeat(128),
        normalized: `docker.io/library/x:${'t'.repeat(128)}`,
      },
    ],
    [
      // exactly 255 characters of name
      `ghcr.io/${'a'.repeat(247)}`,
      {
        registry: 'ghcr.io',
        repository: 'a'.repeat(247),
        normalized: `ghcr.io/${'a'.repeat(247)}:latest`,
      },
    ],
  ];

  it.each(cases)('%s', (input, expected) => {
    const { original = input.trim(), ...rest } = expected;
    expect(parseImageReference(input)).toStrictEqual({ original, ...rest });
  });
});

describe('parseImageReference: refused references', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    [' \t ', 'empty'],
    // whitespace and line breaks
    ['a b', 'contains whitespace'],
    ['busy\nbox', 'contains whitespace (a line break)'],
    ['busy\r\nbox', 'contains whitespace (a line break)'],
    ['a\tb', 'contains whitespace'],
    ['a\u00a0b', 'contains whitespace'],
    // shell metacharacters and other characters
    ['busybox;rm -rf /', "contains a character not allowed in image references: ';'"],
    ['$(id)', "contains a character not allowed in image references: '$'"],
    ['x:`id`', "contains a character not allowed in image references: '`'"],
    ["it's", `contains a character not allowed in image references: "'"`],
    ['a"b', `contains a character not allowed in image references: '"'`],
    ['a&b', "contains a character not allowed in image references: '&'"],
    ['a|b', "contains a character not allowed in image references: '|'"],
    ['a<b', "contains a character not allowed in image references: '<'"],
    ['a>b', "contains a character not allowed in image references: '>'"],
    ['a\\b', "contains a character not allowed in image references: '\\'"],
    ['a*', "contains a character not allowed in image references: '*'"],
    ['a?', "contains a character not allowed in image references: '?'"],
    ['{a,b}', "contains a character not allowed in image references: '{'"],
    ['a}', "contains a character not allowed in image references: '}'"],
    ['a!', "contains a character not allowed in image references: '!'"],
    ['a(b', "contains a character not allowed in image references: '('"],
    ['a)b', "contains a character not allowed in image references: ')'"],
    ['~/x', "contains a character not allowed in image references: '~'"],
    ['a#b', "contains a character not allowed in image references: '#'"],
    ['a,b', "contains a character not allowed in image references: ','"],
    ['a=b', "contains a character not allowed in image references: '='"],
    ['a%20b', "contains a character not allowed in image references: '%'"],
    ['a\u0000b', 'contains a character not allowed in image references: U+0000'],
    ['caf\u00e9', "contains a character not allowed in image references: 'é' (U+00E9)"],
    // schemes
    ['https://ghcr.io/x', "remove the scheme 'https://' (write 'ghcr.io/x')"],
    ['docker://busybox', "remove the scheme 'docker://'"],
    ['oci://x y', "remove the scheme 'oci://'"],
    // case
    ['UPPER/x', "repository names must be lowercase (use 'upper/x')"],
    ['Busybox', "repository names must be lowercase (use 'busybox')"],
    ['ghcr.io/Owner/repo', "repository names must be lowercase (use 'ghcr.io/owner/repo')"],
    // tags
    ['x:', "empty tag after ':'"],
    [`x:${'a'.repeat(129)}`, 'tag longer than 128 characters (129)'],
    ['x:-a', "tag '-a' must start with a letter, digit or '_'"],
    ['x:.a', "tag '.a' must start with a letter, digit or '_'"],
    ['x:1.0+build', "tag '1.0+build' contains '+'"],
    // digests
    ['x@', "empty digest after '@'"],
    ['x@sha256:short', 'sha256 digest must be 64 lowercase hex characters'],
    [`x@sha256:${SHA256.toUpperCase()}`, 'sha256 digest must be 64 lowercase hex characters'],
    [`x@sha256:${SHA256}0`, 'sha256 digest must be 64 lowercase hex characters (got 65'],
    [`x@sha512:${SHA256}`, 'sha512 digest must be 128 lowercase hex characters'],
    [`x@SHA256:${SHA256}`, "digest algorithm must be lowercase ('sha256')"],
    [`x@md5:${'0'.repeat(32)}`, "unsupported digest algorithm 'md5'"],
    ['x@foo:12', "digest 'foo:…' must be followed by at least 32 hex characters"],
    [`x@1sha:${SHA256}`, "digest algorithm '1sha' is invalid"],
    [`x@:${SHA256}`, 'has no algorithm'],
    [`x@${SHA256}`, "must be '<algorithm>:<hex>'"],
    [`x@sha256:${SHA256}@sha256:${SHA256}`, "contains more than one '@'"],
    // names
    ['x'.repeat(256), 'name longer than 255 characters'],
    [`ghcr.io/${'a'.repeat(248)}`, 'is 256 characters including the registry'],
    [`@sha256:${SHA256}`, 'missing repository name'],
    [':tag', 'missing repository name'],
    [SHA256, 'is a 64-character hex image ID'],
    [`sha256:${SHA256}`, 'is a digest without a repository name'],
    ['ghcr.io/', "ends with '/'"],
    ['/x', "starts with '/'"],
    ['a//b', "contains '//'"],
    ['a..b', "repository path component 'a..b' is invalid"],
    ['a___b', "repository path component 'a___b' is invalid"],
    ['ghcr.io/o/-r', "repository path component '-r' is invalid"],
    ['a-/b', "repository path component 'a-' is invalid"],
    ['x:tag:more', "repository path component 'x:tag' contains ':'"],
    ['ghcr.io/o+r', "repository path component 'o+r' contains '+'"],
    // registries
    ['my_reg.example.com/x', "registry host 'my_reg.example.com' is invalid"],
    ['reg-.example.com/x', "registry host 'reg-.example.com' is invalid"],
    ['reg..example.com/x', 'has an empty label'],
    [':5000/x', "registry ':5000' has no host"],
    ['localhost:abc/x', "registry port 'abc' must be a number"],
    ['localhost:/x', 'has an empty port'],
    ['localhost:70000/x', 'registry port 70000 is out of range'],
    ['::1/x', 'put IPv6 addresses in brackets'],
    ['[::1/x', "missing the closing ']'"],
    ['[zz::1]:5000/x', "registry IPv6 address '[zz::1]' may contain only hex digits"],
    ['[::1]x/y', "unexpected 'x' after registry IPv6 address"],
  ];

  it.each(cases)('%j: %s', (input, reason) => {
    const error = refusal(input);
    expect(error.reason).toContain(reason);
    expect(error.reference).toBe(input.trim());
  });

  it('formats the message and names the error', () => {
    const error = refusal('busybox;rm -rf /');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ImageReferenceError');
    expect(error.message).toBe(
      "'busybox;rm -rf /' is not a valid image reference: " +
        "contains a character not allowed in image references: ';'",
    );
  });

  it('renders control characters in the message visibly', () => {
    const error = refusal('busy\nbox\t1\u0000');
    expect(error.reference).toBe('busy\nbox\t1\u0000');
    expect(error.message).toBe(
      "'busy\\nbox\\t1\\u0000' is not a valid image reference: contains whitespace (a line break)",
    );
    expect(error.message).not.toMatch(/[\n\t]/);
  });

  it('renders invisible format characters in the message visibly', () => {
    const error = refusal('ghcr.io\u200b/x');
    expect(error.reason).toBe('contains a character not allowed in image references: U+200B');
    expect(error.message).toContain("'ghcr.io\\u200b/x' is not a valid image reference");
  });

  it('throws only ImageReferenceError', () => {
    expect(() => parseImageReference('a b')).toThrow(ImageReferenceError);
  });
});

describe('splitList', () => {
  const cases: Array<[string, string, string[]]> = [
    ['empty', '', []],
    ['only blanks and comments', '\n  \n# one\n   # two\n,,\n', []],
    ['newlines and commas mixed', 'a\nb, c ,d\n\n , e,,\n', ['a', 'b', 'c', 'd', 'e']],
    ['CRLF', 'a\r\nb,c\r\n\r\nd', ['a', 'b', 'c', 'd']],
    ['lone CR', 'a\rb', ['a', 'b']],
    ['comment lines', '# images\nbusybox\n  # disabled: alpine\nnginx', ['busybox', 'nginx']],
    ['trailing comments', 'busybox # the small one\nnginx\t# web, server', ['busybox', 'nginx']],
    ['trailing comment after a comma', 'a, # b, c\nd', ['a', 'd']],
    ['# not after whitespace stays in the item', 'alpine#x', ['alpine#x']],
    ['items are trimmed, not validated', '  a b  ,\t$(id) ', ['a b', '$(id)']],
  ];

  it.each(cases)('%s', (_name, text, expected) => {
    expect(splitList(text)).toStrictEqual(expected);
  });
});

describe('parseImageList', () => {
  it('parses a mixed list in order', () => {
    const result = parseImageList(
      '# base images\r\nbusybox, alpine:3.20\r\n\r\npublic.ecr.aws/eks-distro/kubernetes/pause:3.2 # pause\r\n',
    );
    expect(result.images.map((image) => image.normalized)).toStrictEqual([
      'docker.io/library/busybox:latest',
      'docker.io/library/alpine:3.20',
      'public.ecr.aws/eks-distro/kubernetes/pause:3.2',
    ]);
    expect(result.duplicates).toStrictEqual([]);
    expect(result.errors).toStrictEqual([]);
  });

  it('drops items that normalize to an earlier one', () => {
    const result = parseImageList(
      'busybox\ndocker.io/library/busybox:latest, index.docker.io/busybox\nalpine\nbusybox:1.36',
    );
    expect(result.images.map((image) => image.original)).toStrictEqual([
      'busybox',
      'alpine',
      'busybox:1.36',
    ]);
    expect(result.duplicates).toStrictEqual([
      'docker.io/library/busybox:latest',
      'index.docker.io/busybox',
    ]);
    expect(result.errors).toStrictEqual([]);
  });

  it('collects errors per item instead of throwing', () => {
    const result = parseImageList('busybox\na b\n$(id), x:\nalpine\nalpine#x');
    expect(result.images.map((image) => image.original)).toStrictEqual(['busybox', 'alpine']);
    expect(result.errors.map((error) => [error.reference, error.reason])).toStrictEqual([
      ['a b', 'contains whitespace'],
      ['$(id)', "contains a character not allowed in image references: '$'"],
      ['x:', "empty tag after ':'"],
      ['alpine#x', "contains a character not allowed in image references: '#'"],
    ]);
    for (const error of result.errors) expect(error).toBeInstanceOf(ImageReferenceError);
  });

  it('returns empty lists for empty input', () => {
    expect(parseImageList(' \n# nothing\n')).toStrictEqual({
      images: [],
      duplicates: [],
      errors: [],
    });
  });
});
