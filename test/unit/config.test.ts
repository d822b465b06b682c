import path from 'node:path';
import { loadConfig } from '../../src/platform/config';

describe('configuration', () => {
  it('listens on loopback by default, and CORS follows PORT', () => {
    const config = loadConfig({ PORT: '4100' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.corsOrigins).toEqual(['https://studio.apollographql.com', 'http://localhost:4100', 'http://127.0.0.1:4100']);
  });

  it('reads import roots, by default the working directory and data/incoming', () => {
    expect(loadConfig({ MEDPSIM_DATA_DIR: '/srv/medpsim' }).importRoots).toEqual([process.cwd(), '/srv/medpsim/incoming']);
    expect(loadConfig({ MEDPSIM_IMPORT_ROOTS: '/data/in, relative ' }).importRoots).toEqual(['/data/in', path.resolve('relative')]);
  });

  it('refuses bad values by name', () => {
    expect(() => loadConfig({ PORT: 'x' })).toThrow('PORT must be an integer in [0, 65535], got "x"');
    expect(() => loadConfig({ MEDPSIM_ROLE: 'both' })).toThrow('MEDPSIM_ROLE must be one of all, api, worker; got "both"');
    expect(() => loadConfig({ MEDPSIM_PUBLIC_URL: 'medpsim.example.org' })).toThrow(/MEDPSIM_PUBLIC_URL must be an http\(s\) URL/);
  });
});
