// TileStitch front-end: draws the tile grid over the connected photo on split nodes before anything
// runs, hides the widgets the chosen mode does not use, and after a Seam Report has run colours
// the seams by their verdict and shows the report's summary on the report node.
//
// The grid comes from the pack's own planner through GET /tilestitch/plan, so the
// overlay shows exactly the tiles the node will cut. No build step, no dependencies.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const SPLIT_NODES = {
  TileStitchSplit: { input: "image", latent: false },
  TileStitchSplitList: { input: "image", latent: false },
  TileStitchLatentSplit: { input: "samples", latent: true },
};
const REPORT_NODE = "TileStitchSeamReport";
const PLAN_WIDGETS = ["mode", "tile_width", "tile_height", "overlap", "rows", "cols", "max_megapixels", "align", "shrink_tiles"];
const PREVIEW_HEIGHT = 240; // px of node height the overlay needs below the widgets
const MIN_PREVIEW = 60; // below this the node says to enlarge it instead of drawing a grid too small to read
// widgets each mode uses; the others are hidden
const MODE_WIDGETS = {
  tile_size: ["tile_width", "tile_height", "shrink_tiles"],
  grid: ["rows", "cols"],
  megapixels: ["max_megapixels", "shrink_tiles"],
};
const MODAL_WIDGETS = ["tile_width", "tile_height", "rows", "cols", "max_megapixels", "shrink_tiles"];

const state = { lastReport: null };
window.TileStitch = state; // read by the browser test and handy in the console

function widgetValue(node, name) {
  const w = node.widgets?.find((w) => w.name === name);
  return w ? w.value : undefined;
}

// Show only the widgets the chosen mode reads (tile_size: tile sizes; grid: rows / cols; megapixels: the area).
function showModeWidgets(node) {
  const mode = widgetValue(node, "mode");
  const keep = MODE_WIDGETS[mode];
  if (!keep) return;
  let changed = false;
  for (const w of node.widgets || []) {
    if (!MODAL_WIDGETS.includes(w.name)) continue;
    const hidden = !keep.includes(w.name);
    if (!!w.hidden !== hidden) {
      w.hidden = hidden; // not drawn ...
      if (hidden) {
        w.tilestitchComputeSize = w.computeSize;
        w.computeSize = () => [0, -4]; // ... and no room kept for it (the layout adds 4 px per widget)
      } else {
        w.computeSize = w.tilestitchComputeSize;
        delete w.tilestitchComputeSize;
      }
      changed = true;
    }
  }
  if (changed) node.setDirtyCanvas(true, true);
}

// The node feeding the split node's input, and its preview image when it has one (Load Image).
function upstream(node, spec) {
  const slot = node.inputs?.findIndex((i) => i.name === spec.input);
  if (slot == null || slot < 0) return { up: null, img: null };
  const up = node.getInputNode?.(slot) ?? null;
  const img = up?.imgs?.[0];
  return { up, img: img && img.naturalWidth ? img : null };
}

// The size of what feeds the split node: a loaded image's preview, or an empty latent's widgets.
function sourceSize(node, spec) {
  const { up, img } = upstream(node, spec);
  if (!up) return null;
  if (img) {
    const f = spec.latent ? 8 : 1;
    return { width: Math.floor(img.naturalWidth / f), height: Math.floor(img.naturalHeight / f) };
  }
  const w = widgetValue(up, "width");
  const h = widgetValue(up, "height");
  if (typeof w === "number" && typeof h === "number") {
    const f = spec.latent ? 8 : 1;
    return { width: Math.floor(w / f), height: Math.floor(h / f) };
  }
  return null;
}

async function refreshPlan(node, spec) {
  const size = sourceSize(node, spec);
  const overlay = (node.tilestitchOverlay ??= { key: null, plan: null, error: null, drawnTiles: 0 });
  if (!size) {
    overlay.key = null;
    overlay.plan = null;
    overlay.error = "connect an image (or an empty latent) to preview the tiles";
    return;
  }
  const params = new URLSearchParams({ height: size.height, width: size.width });
  for (const name of PLAN_WIDGETS) {
    const v = widgetValue(node, name);
    if (v !== undefined) params.set(name, v);
  }
  const key = params.toString();
  if (key === overlay.key) return;
  overlay.key = key;
  try {
    const res = await api.fetchApi(`/tilestitch/plan?${key}`);
    const body = await res.json();
    if (overlay.key !== key) return; // a newer request won
    overlay.plan = res.ok ? body : null;
    overlay.error = res.ok ? null : body.error;
  } catch (e) {
    overlay.plan = null;
    overlay.error = String(e);
  }
  node.setDirtyCanvas(true, true);
}

function heatColour(score, verdict) {
  let s = Math.max(0, Math.min(2, score));
  if (verdict === "possible") s = Math.min(s, 1.5);
  else if (verdict === "clean") s = Math.min(s, 0.9);
  const rgb = s <= 1 ? [s, 0.8 + 0.2 * s, 0.1] : [1, 1 - (s - 1), 0.1];
  return `rgb(${rgb.map((c) => Math.round(255 * c)).join(",")})`;
}

// The seams of the latest report that belong to this plan (same grid, any scale).
function reportFor(plan) {
  const r = state.lastReport;
  if (!r || !plan) return null;
  const p = r.plan;
  const same = p.xs.join() === plan.xs.join() && p.ys.join() === plan.ys.join() && p.width === plan.width && p.height === plan.height;
  return same ? r : null;
}

// The first free y below the node's visible widgets (node coordinates).
function widgetsBottom(node) {
  const ys = (node.widgets || []).filter((w) => !w.hidden).map((w) => (w.last_y ?? w.y ?? 0) + (w.computeSize?.()[1] ?? 20));
  return Math.max(0, ...ys) + 6;
}

function drawPlan(node, ctx, plan, report, photo, top = widgetsBottom(node)) {
  const bottomText = report ? 0 : 16;
  const room = node.size[1] - top - 8 - bottomText;
  if (room < MIN_PREVIEW) {
    drawMessage(node, ctx, "enlarge the node to see the tile grid");
    return 0;
  }
  const scale = Math.min((node.size[0] - 16) / plan.width, room / plan.height);
  const ox = (node.size[0] - plan.width * scale) / 2;
  const oy = top;
  ctx.save();
  if (photo) {
    ctx.globalAlpha = 0.85;
    ctx.drawImage(photo, ox, oy, plan.width * scale, plan.height * scale);
    ctx.globalAlpha = 1;
  } else {
    ctx.fillStyle = "#1c2433";
    ctx.fillRect(ox, oy, plan.width * scale, plan.height * scale);
  }
  let n = 0;
  for (let r = 0; r < plan.ys.length; r++) {
    for (let c = 0; c < plan.xs.length; c++) {
      const x = plan.xs[c], y = plan.ys[r];
      ctx.strokeStyle = "rgba(150,200,255,0.95)";
      ctx.lineWidth = 1;
      ctx.strokeRect(ox + x * scale + 0.5, oy + y * scale + 0.5, plan.tile_width * scale - 1, plan.tile_height * scale - 1);
      n += 1;
    }
  }
  // overlaps: where the blend happens, shaded so seams can be judged against the photo under them
  ctx.fillStyle = "rgba(90,150,255,0.22)";
  for (const s of plan.seams || []) {
    if (s.axis === 1) ctx.fillRect(ox + s.overlap[0] * scale, oy + s.span[0] * scale, (s.overlap[1] - s.overlap[0]) * scale, (s.span[1] - s.span[0]) * scale);
    else ctx.fillRect(ox + s.span[0] * scale, oy + s.overlap[0] * scale, (s.span[1] - s.span[0]) * scale, (s.overlap[1] - s.overlap[0]) * scale);
  }
  const seams = report ? report.seams : plan.seams;
  seams.forEach((s, i) => {
    ctx.strokeStyle = report ? heatColour(s.score, s.verdict) : "rgba(255,255,255,0.75)";
    ctx.lineWidth = report && s.visible ? 3 : 1.5;
    const f = report ? plan.width / report.width : 1; // report seams are in the merged image's pixels
    const fy = report ? plan.height / report.height : 1;
    ctx.beginPath();
    if (s.axis === 1) {
      ctx.moveTo(ox + s.position * f * scale, oy + s.span[0] * fy * scale);
      ctx.lineTo(ox + s.position * f * scale, oy + s.span[1] * fy * scale);
    } else {
      ctx.moveTo(ox + s.span[0] * f * scale, oy + s.position * fy * scale);
      ctx.lineTo(ox + s.span[1] * f * scale, oy + s.position * fy * scale);
    }
    ctx.stroke();
    if (!report && scale * Math.min(plan.tile_width, plan.tile_height) > 40) {
      ctx.fillStyle = "rgba(255,255,255,0.7)";
      ctx.font = "9px sans-serif";
      const mx = s.axis === 1 ? s.position : (s.span[0] + s.span[1]) / 2;
      const my = s.axis === 1 ? (s.span[0] + s.span[1]) / 2 : s.position;
      ctx.fillText(String(i), ox + mx * scale + 2, oy + my * scale - 2);
    }
  });
  if (!report) {
    ctx.fillStyle = "#bbb";
    ctx.font = "11px sans-serif";
    const cover = plan.coverage ? `, ${plan.coverage.toFixed(2)}x the image` : "";
    ctx.fillText(`${plan.ys.length} x ${plan.xs.length} tiles of ${plan.tile_width} x ${plan.tile_height}${cover}`, ox, oy + plan.height * scale + 13);
  }
  ctx.restore();
  return n;
}

// The report's summary lines under the heat map of the Seam Report node.
function drawSummary(node, ctx, text, top) {
  const lines = (text || "").split("\n").slice(0, 8);
  ctx.save();
  ctx.fillStyle = "#ccc";
  ctx.font = "11px sans-serif";
  lines.forEach((line, i) => ctx.fillText(line.length > 90 ? line.slice(0, 89) + "…" : line, 8, top + 12 + 14 * i));
  ctx.restore();
  return lines.length * 14 + 8;
}

function drawMessage(node, ctx, text) {
  ctx.save();
  ctx.fillStyle = "#999";
  ctx.font = "11px sans-serif";
  ctx.fillText(text, 8, node.size[1] - 10);
  ctx.restore();
}

app.registerExtension({
  name: "TileStitch.TileGridOverlay",

  async beforeRegisterNodeDef(nodeType, nodeData) {
    const spec = SPLIT_NODES[nodeData.name];
    if (spec) {
      const onNodeCreated = nodeType.prototype.onNodeCreated;
      nodeType.prototype.onNodeCreated = function () {
        const r = onNodeCreated?.apply(this, arguments);
        this.tilestitchOverlay = { key: null, plan: null, error: null, drawnTiles: 0 };
        showModeWidgets(this);
        const mode = this.widgets?.find((w) => w.name === "mode");
        if (mode) {
          const callback = mode.callback;
          mode.callback = (...args) => {
            const out = callback?.apply(mode, args);
            showModeWidgets(this);
            return out;
          };
        }
        this.setSize([Math.max(this.size[0], 340), this.size[1] + PREVIEW_HEIGHT]);
        return r;
      };
      const onConfigure = nodeType.prototype.onConfigure;
      nodeType.prototype.onConfigure = function () {
        const r = onConfigure?.apply(this, arguments);
        showModeWidgets(this); // a loaded workflow sets the mode after creation
        return r;
      };
      const onDrawForeground = nodeType.prototype.onDrawForeground;
      nodeType.prototype.onDrawForeground = function (ctx) {
        const r = onDrawForeground?.apply(this, arguments);
        if (this.flags?.collapsed) return r;
        showModeWidgets(this);
        refreshPlan(this, spec); // cheap when nothing changed (same key)
        const o = this.tilestitchOverlay;
        if (o?.plan) o.drawnTiles = drawPlan(this, ctx, o.plan, reportFor(o.plan), spec.latent ? null : upstream(this, spec).img);
        else if (o?.error) drawMessage(this, ctx, o.error);
        return r;
      };
    }
    if (nodeData.name === REPORT_NODE) {
      const onExecuted = nodeType.prototype.onExecuted;
      nodeType.prototype.onExecuted = function (message) {
        const r = onExecuted?.apply(this, arguments);
        const reports = message?.tilestitch_seams;
        if (reports?.length) {
          const rep = reports[0];
          state.lastReport = { ...rep, visible: rep.seams.filter((s) => s.visible).length,
                               possible: rep.seams.filter((s) => s.verdict === "possible").length };
          this.tilestitchReport = state.lastReport;
        }
        this.tilestitchSummary = message?.text?.[0] ?? "";
        app.graph.setDirtyCanvas(true, true);
        return r;
      };
      const onDrawForeground = nodeType.prototype.onDrawForeground;
      nodeType.prototype.onDrawForeground = function (ctx) {
        const r = onDrawForeground?.apply(this, arguments);
        if (this.flags?.collapsed || !this.tilestitchReport) return r;
        const rep = this.tilestitchReport;
        const top = widgetsBottom(this);
        const lines = Math.min(8, (this.tilestitchSummary || "").split("\n").length);
        const need = top + PREVIEW_HEIGHT + lines * 14 + 16;
        if (this.size[1] < need) this.setSize([Math.max(this.size[0], 420), need]);
        const used = drawSummary(this, ctx, this.tilestitchSummary, top);
        drawPlan(this, ctx, { ...rep.plan }, rep, null, top + used);
        return r;
      };
    }
  },
});
