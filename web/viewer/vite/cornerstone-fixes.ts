// Build-time corrections to Cornerstone3D, applied by a Vite transform to
// the locked version in node_modules. Each correction names the exact text
// it replaces and fails the build when that text is not found exactly once,
// so an upgrade that changes the code stops here for a person to re-check
// (and, once upstream fixes it, to delete the correction).
import type { Plugin } from 'vite';

interface Fix {
  /** file is matched against the end of the module id. */
  file: string;
  why: string;
  edits: { from: string; to: string }[];
}

// StackViewport's CPU renderer draws image pixel (i, j) over the legacy
// pixel-coordinate square [i, i+1) x [j, j+1), so its centre is at
// (i+0.5, j+0.5); but its pixel <-> world conversions put the Image Position
// (Patient) -- the centre of the first pixel in DICOM and in the WebGL path
// (vtkImageData origin) -- at pixel coordinate 0, the first pixel's corner.
// The drawn image therefore sits half a pixel right of and below where
// annotations, measurements and probes think it is. The edits below make
// world = origin + (p - 0.5) * spacing, and keep imageData.worldToIndex /
// indexToWorld centre-based like vtk's. test/browser checks the drawn
// pixels against the world coordinates on both renderers.
const fixes: Fix[] = [
  {
    file: '@cornerstonejs/core/dist/esm/RenderingEngine/StackViewport.js',
    why: 'CPU renderer half-pixel misregistration between the drawn image and world coordinates',
    edits: [
      {
        from: 'vec3.scaleAndAdd(worldPos, origin, iVector, px * spacing[0]);\n            vec3.scaleAndAdd(worldPos, worldPos, jVector, py * spacing[1]);',
        to: 'vec3.scaleAndAdd(worldPos, origin, iVector, (px - 0.5) * spacing[0]);\n            vec3.scaleAndAdd(worldPos, worldPos, jVector, (py - 0.5) * spacing[1]);',
      },
      {
        from: 'vec3.dot(diff, iVector) / spacing[0],\n                vec3.dot(diff, jVector) / spacing[1],\n            ];\n            const canvasPoint = pixelToCanvas(',
        to: 'vec3.dot(diff, iVector) / spacing[0] + 0.5,\n                vec3.dot(diff, jVector) / spacing[1] + 0.5,\n            ];\n            const canvasPoint = pixelToCanvas(',
      },
      {
        from: 'return [pixelCoord[0], pixelCoord[1], 0];',
        to: 'return [pixelCoord[0] - 0.5, pixelCoord[1] - 0.5, 0];',
      },
      {
        from: 'const canvasPoint = pixelToCanvas(this._cpuFallbackEnabledElement, [\n                        point[0],\n                        point[1],\n                    ]);',
        to: 'const canvasPoint = pixelToCanvas(this._cpuFallbackEnabledElement, [\n                        point[0] + 0.5,\n                        point[1] + 0.5,\n                    ]);',
      },
      // The CPU renderer re-quantises an image pre-scaled with a
      // non-integer rescale into Uint16 with a slope and intercept of its
      // own, but replaces only the voxel manager's data: getPixelData()
      // kept returning the scaled floats, which the new slope then scaled a
      // second time (modality values 29x too small on a Philips MR with
      // slope 3.77). Both now return the re-quantised pixels.
      {
        from: 'if (image.voxelManager) {\n                        image.voxelManager.getScalarData = () => intPixelData;\n                    }\n                    else {\n                        image.getPixelData = () => intPixelData;\n                    }',
        to: 'if (image.voxelManager) {\n                        image.voxelManager.getScalarData = () => intPixelData;\n                    }\n                    image.getPixelData = () => intPixelData;',
      },
    ],
  },
];

/** cornerstoneFixes is the Vite plugin applying the corrections above. */
export function cornerstoneFixes(): Plugin {
  const applied = new Set<string>();
  return {
    name: 'lightbox-cornerstone-fixes',
    enforce: 'pre',
    transform: {
      filter: { id: new RegExp(fixes.map((f) => escapeRegExp(f.file)).join('|')) },
      handler(code, id) {
        const path = id.split('?')[0].replaceAll('\\', '/');
        const fix = fixes.find((f) => path.endsWith(`/node_modules/${f.file}`));
        if (!fix) return null;
        let out = code;
        for (const e of fix.edits) {
          const n = out.split(e.from).length - 1;
          if (n !== 1) {
            this.error(
              `cornerstone fix "${fix.why}": expected the text to replace once in ${fix.file}, found it ${n} times: ` +
                'Cornerstone changed; re-check the fix (web/viewer/vite/cornerstone-fixes.ts)',
            );
          }
          out = out.replace(e.from, e.to);
        }
        applied.add(fix.file);
        return { code: out, map: null };
      },
    },
    buildEnd(err) {
      if (err) return;
      for (const f of fixes) {
        if (!applied.has(f.file)) this.error(`cornerstone fix "${f.why}": ${f.file} was not part of the build`);
      }
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
