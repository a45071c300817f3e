// The small form that asks for a text annotation's text (instead of the
// browser's blocking prompt()): Enter or OK keeps it, Esc or Cancel drops
// the annotation.
import { h } from '../dom';

/** askText shows the form in container and calls done once with the text, or undefined when cancelled. */
export function askText(container: HTMLElement, current: string, done: (text: string | undefined) => void): void {
  container.querySelector('.text-prompt')?.remove();
  const input = h('input', { type: 'text', value: current, 'data-testid': 'annotation-text', 'aria-label': 'Annotation text', maxlength: 200 });
  let finished = false;
  const finish = (text: string | undefined) => {
    if (finished) return;
    finished = true;
    form.remove();
    done(text === undefined || text.trim() === '' ? undefined : text.trim());
  };
  const form = h(
    'form',
    { class: 'text-prompt', 'data-testid': 'text-prompt' },
    h('label', {}, 'Annotation text ', input),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'annotation-ok' }, 'OK'),
    h('button', { type: 'button', onclick: () => finish(undefined) }, 'Cancel'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    finish(input.value);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      finish(undefined);
    }
  });
  container.append(form);
  input.focus();
}
