/**
 * src/cache/registry/status.ts: what an unsuccessful answer is reported as (not found, refused
 * with or without credentials, Docker Hub's hints).
 */
import { describe, expect, it } from '@jest/globals';
import { BOTH, HOST, ref, failure, setup } from '../../../../test-support/registry-fake.js';
import { RegistryError, resolveImage } from '../../../../src/cache/registry/index.js';

describe('resolveImage: not found', () => {
  it('reports 404 as manifest unknown, with the registry message, without retrying', async () => {
    const { registry, deps, clock } = setup();
    const start = clock.now();
    const error = await failure(resolveImage(ref(`${HOST}/team/app:nope`), BOTH, deps));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.kind).toBe('not-found');
    expect(error.status).toBe(404);
    expect(error.reason).toBe(
      `manifest unknown: ${HOST}/team/app:nope (MANIFEST_UNKNOWN: manifest unknown)`,
    );
    expect(registry.requests).toHaveLength(1);
    expect(clock.now()).toBe(start);
  });
});

describe('resolveImage: refused', () => {
  it('names the credentials when the registry refuses them', async () => {
    const { registry, deps } = setup({
      credentialsFor: async () => ({ username: 'u', password: 'p' }),
    });
    registry.auth = {
      scheme: 'bearer',
      service: 's',
      account: { username: 'u', password: 'p' },
      grant: () => false,
    };
    const error = await failure(resolveImage(ref(`${HOST}/a/b:v1`), BOTH, deps));
    expect(error.reason).toContain(`the credentials for ${HOST} do not grant pull access to a/b`);
  });
});
