// The viewport's tool group and the image manipulation actions of the
// toolbar and keyboard.
import { type Types, utilities as csUtils } from '@cornerstonejs/core';
import {
  ToolGroupManager,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
  PanTool,
  LengthTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';
import { toRange } from './presets';

const { MouseBindings } = ToolEnums;

/** PrimaryTool is a tool the left mouse button can drive. */
export type PrimaryTool = 'WindowLevel' | 'Pan' | 'Zoom' | 'StackScroll' | 'Length';

export const PRIMARY_TOOLS: { id: PrimaryTool; label: string; title: string }[] = [
  { id: 'WindowLevel', label: 'W/L', title: 'Window/level: drag (left button)' },
  { id: 'Pan', label: 'Pan', title: 'Pan: drag (also middle button)' },
  { id: 'Zoom', label: 'Zoom', title: 'Zoom: drag (also right button)' },
  { id: 'StackScroll', label: 'Scroll', title: 'Scroll through the stack: drag (also mouse wheel, arrow keys)' },
  { id: 'Length', label: 'Length', title: 'Measure a length: click and drag' },
];

const toolName: Record<PrimaryTool, string> = {
  WindowLevel: WindowLevelTool.toolName,
  Pan: PanTool.toolName,
  Zoom: ZoomTool.toolName,
  StackScroll: StackScrollTool.toolName,
  Length: LengthTool.toolName,
};

/** Bindings each tool keeps whichever tool has the left button. */
const baseBindings: Record<PrimaryTool, { mouseButton: number }[]> = {
  WindowLevel: [],
  Pan: [{ mouseButton: MouseBindings.Auxiliary }],
  Zoom: [{ mouseButton: MouseBindings.Secondary }],
  StackScroll: [{ mouseButton: MouseBindings.Wheel }],
  Length: [],
};

/** StackTools owns the tool group of one stack viewport. */
export class StackTools {
  readonly groupId: string;
  private primary: PrimaryTool | undefined;

  constructor(groupId: string, renderingEngineId: string, viewportId: string) {
    this.groupId = groupId;
    ToolGroupManager.destroyToolGroup(groupId);
    const group = ToolGroupManager.createToolGroup(groupId);
    if (!group) throw new Error(`viewer: could not create tool group ${groupId}`);
    for (const id of Object.keys(toolName) as PrimaryTool[]) group.addTool(toolName[id]);
    group.addViewport(viewportId, renderingEngineId);
    for (const id of Object.keys(toolName) as PrimaryTool[]) {
      if (baseBindings[id].length > 0) group.setToolActive(toolName[id], { bindings: baseBindings[id] });
      else group.setToolPassive(toolName[id]);
    }
    this.setPrimary('WindowLevel');
  }

  private group() {
    const g = ToolGroupManager.getToolGroup(this.groupId);
    if (!g) throw new Error(`viewer: tool group ${this.groupId} is gone`);
    return g;
  }

  /** primaryTool is the tool on the left mouse button. */
  get primaryTool(): PrimaryTool | undefined {
    return this.primary;
  }

  /** setPrimary gives the left mouse button to a tool. */
  setPrimary(id: PrimaryTool): void {
    const g = this.group();
    if (this.primary && this.primary !== id) {
      const old = this.primary;
      if (baseBindings[old].length > 0) g.setToolActive(toolName[old], { bindings: baseBindings[old] });
      else g.setToolPassive(toolName[old]); // annotations stay selectable and editable
    }
    g.setToolActive(toolName[id], { bindings: [...baseBindings[id], { mouseButton: MouseBindings.Primary }] });
    this.primary = id;
  }

  destroy(): void {
    ToolGroupManager.destroyToolGroup(this.groupId);
  }
}

/** flips reports whether a viewport shows its image mirrored. */
export function flips(vp: Types.IStackViewport): { h: boolean; v: boolean } {
  const cam = vp.getCamera();
  return { h: !!cam.flipHorizontal, v: !!cam.flipVertical };
}

/** Image manipulations on a stack viewport. Each one renders. */
export const actions = {
  rotate90(vp: Types.IStackViewport): void {
    const { rotation = 0 } = vp.getViewPresentation();
    vp.setViewPresentation({ rotation: (((rotation + 90) % 360) + 360) % 360 });
    vp.render();
  },
  flipH(vp: Types.IStackViewport): void {
    // setCamera flips on both renderers; setViewPresentation's flips are
    // a no-op on the CPU one.
    vp.setCamera({ flipHorizontal: !flips(vp).h });
    vp.render();
  },
  flipV(vp: Types.IStackViewport): void {
    vp.setCamera({ flipVertical: !flips(vp).v });
    vp.render();
  },
  invert(vp: Types.IStackViewport): void {
    const { invert = false } = vp.getProperties();
    vp.setProperties({ invert: !invert });
    vp.render();
  },
  windowLevel(vp: Types.IStackViewport, width: number, center: number): void {
    vp.setProperties({ voiRange: toRange(width, center) });
    vp.render();
  },
  reset(vp: Types.IStackViewport): void {
    vp.resetProperties();
    vp.setCamera({ flipHorizontal: false, flipVertical: false });
    vp.setViewPresentation({ rotation: 0 });
    vp.resetCamera();
    vp.render();
  },
  scroll(vp: Types.IStackViewport, delta: number): void {
    csUtils.scroll(vp, { delta });
  },
  jump(vp: Types.IStackViewport, index: number): void {
    const n = vp.getImageIds().length;
    if (n === 0) return;
    void vp.setImageIdIndex(Math.max(0, Math.min(n - 1, index)));
  },
};
