import type { PayloadFormat } from './types.js';

/** The backend's own files, unwrapped: what `render` writes without --format. */
export const filesFormat: PayloadFormat = {
  name: 'files',
  description: "the backend's own files (the default)",
  singleFile: true,
  async wrap(context) {
    return context.result.files;
  },
  hostPath: (host, file) => (host === null ? file : `${host}/${file}`),
};
