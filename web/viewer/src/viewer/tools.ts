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
  AngleTool,
  RectangleROITool,
  EllipticalROITool,
  ArrowAnnotateTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';
import { toRange } from './presets';

const { MouseBindings } = ToolEnums;

/**
 * PrimaryTool is a tool the left mouse button can drive. Crop is the
 * viewer's own (crop.ts); the others are Cornerstone tools.
 */
export type PrimaryTool =
  | 'WindowLevel'
  | 'Pan'
  | 'Zoom'
  | 'StackScroll'
  | 'Length'
  | 'Angle'
  | 'RectangleROI'
  | 'EllipticalROI'
  | 'ArrowAnnotate'
  | 'Crop';

type CornerstoneTool = Exclude<PrimaryTool, 'Crop'>;

export const PRIMARY_TOOLS: { id: PrimaryTool; label: string; title: string }[] = [
  { id: 'WindowLevel', label: 'W/L', title: 'Window/level: drag (left button)' },
  { id: 'Pan', label: 'Pan', title: 'Pan: drag (also middle button)' },
  { id: 'Zoom', label: 'Zoom', title: 'Zoom: drag (also right button)' },
  { id: 'StackScroll', label: 'Scroll', title: 'Scroll through the stack: drag (also mouse wheel, arrow keys)' },
  { id: 'Length', label: 'Length', title: 'Measure a length: click and drag' },
  { id: 'Angle', label: 'Angle', title: 'Measure an angle: drag the first arm, then click the end of the second' },
  { id: 'RectangleROI', label: 'Rect ROI', title: 'Rectangle ROI (mean, std-dev, area): drag corner to corner' },
  { id: 'EllipticalROI', label: 'Ellipse ROI', title: 'Ellipse ROI (mean, std-dev, area): drag from the centre to a corner of its box' },
  { id: 'ArrowAnnotate', label: 'Text', title: 'Text annotation: drag an arrow, then type the text' },
  { id: 'Crop', label: 'Crop', title: 'Crop: drag a rectangle that becomes the displayed region (Fit undoes it)' },
];

/** TOOL_CLASSES are the Cornerstone tools of the stack viewer (registered once by cornerstone.ts). */
export const TOOL_CLASSES = {
  WindowLevel: WindowLevelTool,
  Pan: PanTool,
  Zoom: ZoomTool,
  StackScroll: StackScrollTool,
  Length: LengthTool,
  Angle: AngleTool,
  RectangleROI: RectangleROITool,
  EllipticalROI: EllipticalROITool,
  ArrowAnnotate: ArrowAnnotateTool,
} satisfies Record<CornerstoneTool, { toolName: string }>;

const toolName = Object.fromEntries(Object.entries(TOOL_CLASSES).map(([id, cls]) => [id, cls.toolName])) as Record<CornerstoneTool, string>;

/** Bindings each tool keeps whichever tool has the left button. */
const baseBindings: Record<CornerstoneTool, { mouseButton: number }[]> = {
  WindowLevel: [],
  Pan: [{ mouseButton: MouseBindings.Auxiliary }],
  Zoom: [{ mouseButton: MouseBindings.Secondary }],
  StackScroll: [{ mouseButton: MouseBindings.Wheel }],
  Length: [],
  Angle: [],
  RectangleROI: [],
  EllipticalROI: [],
  ArrowAnnotate: [],
};

/**
 * AskText asks the reader for an annotation's text; done(undefined or '')
 * cancels the annotation.
 */
export type AskText = (current: string, done: (text: string | undefined) => void) => void;

/** StackTools owns the tool group of one stack viewport. */
export class StackTools {
  readonly groupId: string;
  private primary: PrimaryTool | undefined;

  constructor(groupId: string, renderingEngineId: string, viewportIds: string[], askText: AskText) {
    this.groupId = groupId;
    ToolGroupManager.destroyToolGroup(groupId);
    const group = ToolGroupManager.createToolGroup(groupId);
    if (!group) throw new Error(`viewer: could not create tool group ${groupId}`);
    for (const id of Object.keys(toolName) as CornerstoneTool[]) {
      if (id === 'ArrowAnnotate') {
        group.addTool(toolName[id], {
          getTextCallback: (done: (t: string | undefined) => void) => askText('', done),
          changeTextCallback: (data: { data?: { label?: string } }, _ev: unknown, done: (t: string | undefined) => void) =>
            askText(data?.data?.label ?? '', done),
        });
      } else {
        group.addTool(toolName[id]);
      }
    }
    for (const vp of viewportIds) group.addViewport(vp, renderingEngineId);
    for (const id of Object.keys(toolName) as CornerstoneTool[]) {
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
    if (this.primary && this.primary !== id && this.primary !== 'Crop') {
      const old = this.primary;
      if (baseBindings[old].length > 0) g.setToolActive(toolName[old], { bindings: baseBindings[old] });
      else g.setToolPassive(toolName[old]); // annotations stay selectable and editable
    }
    // Crop drives the left button itself (crop.ts): no Cornerstone tool has it.
    if (id !== 'Crop') g.setToolActive(toolName[id], { bindings: [...baseBindings[id], { mouseButton: MouseBindings.Primary }] });
    this.primary = id;
  }

  /** removeViewport takes a viewport out of the group (before it is disabled). */
  removeViewport(viewportId: string, renderingEngineId: string): void {
    this.group().removeViewports(renderingEngineId, viewportId);
  }

  /** addViewport puts another viewport of the engine under the same tools. */
  addViewport(viewportId: string, renderingEngineId: string): void {
    this.group().addViewport(viewportId, renderingEngineId);
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
