// Viewport layouts: how many viewports the page shows, in rows × columns.

/** LayoutId names a layout as the toolbar shows it. */
export type LayoutId = '1x1' | '1x2' | '2x2';

/** LAYOUTS are the layouts offered, smallest first. */
export const LAYOUTS: LayoutId[] = ['1x1', '1x2', '2x2'];

/** layoutSize is a layout's rows and columns (1x2: one row of two). */
export function layoutSize(id: LayoutId): { rows: number; cols: number } {
  const [rows, cols] = id.split('x').map(Number);
  return { rows, cols };
}
