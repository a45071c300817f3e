// The Crop tool's mouse handling: while it has the left button, a drag on a
// viewport draws a dashed rectangle; releasing it hands the rectangle (two
// opposite corners in the viewport's canvas pixels) to done. The events are
// taken in the capture phase and stopped, so no Cornerstone tool sees them.
import { h } from '../dom';

/** attachCropDrag wires the drag on element (inside wrap); it returns the detach function. */
export function attachCropDrag(
  wrap: HTMLElement,
  element: HTMLElement,
  active: () => boolean,
  done: (a: [number, number], b: [number, number]) => void,
): () => void {
  const box = h('div', { class: 'crop-box', 'data-testid': 'crop-box' });
  box.hidden = true;
  wrap.append(box);
  let start: [number, number] | undefined;
  const local = (ev: PointerEvent): [number, number] => {
    const r = element.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  const draw = (a: [number, number], b: [number, number]) => {
    const er = element.getBoundingClientRect();
    const wr = wrap.getBoundingClientRect();
    box.style.left = `${Math.min(a[0], b[0]) + er.left - wr.left}px`;
    box.style.top = `${Math.min(a[1], b[1]) + er.top - wr.top}px`;
    box.style.width = `${Math.abs(a[0] - b[0])}px`;
    box.style.height = `${Math.abs(a[1] - b[1])}px`;
  };
  const down = (ev: PointerEvent) => {
    if (!active() || ev.button !== 0 || !element.contains(ev.target as Node)) return;
    ev.stopPropagation();
    ev.preventDefault();
    start = local(ev);
    draw(start, start);
    box.hidden = false;
  };
  const move = (ev: PointerEvent) => {
    if (!start) return;
    ev.stopPropagation();
    draw(start, local(ev));
  };
  const up = (ev: PointerEvent) => {
    if (!start) return;
    ev.stopPropagation();
    const a = start;
    start = undefined;
    box.hidden = true;
    done(a, local(ev));
  };
  // Cornerstone listens for mouse events: stop those too while cropping.
  const swallow = (ev: MouseEvent) => {
    if (active() && ev.button === 0 && element.contains(ev.target as Node)) ev.stopPropagation();
  };
  wrap.addEventListener('pointerdown', down, true);
  window.addEventListener('pointermove', move, true);
  window.addEventListener('pointerup', up, true);
  wrap.addEventListener('mousedown', swallow, true);
  return () => {
    wrap.removeEventListener('pointerdown', down, true);
    window.removeEventListener('pointermove', move, true);
    window.removeEventListener('pointerup', up, true);
    wrap.removeEventListener('mousedown', swallow, true);
    box.remove();
  };
}
