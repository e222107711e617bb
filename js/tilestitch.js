// TileStitch front-end: draws the tile grid on split / merge nodes before anything runs,
// and colours the seams by visibility once a Seam Report has run.
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
const PREVIEW_HEIGHT = 170;

const state = { lastReport: null };
window.TileStitch = state; // read by the browser test and handy in the console

function widgetValue(node, name) {
  const w = node.widgets?.find((w) => w.name === name);
  return w ? w.value : undefined;
}

// The size of what feeds the split node: a loaded image's preview, or an empty latent's widgets.
function sourceSize(node, spec) {
  const slot = node.inputs?.findIndex((i) => i.name === spec.input);
  if (slot == null || slot < 0) return null;
  const up = node.getInputNode?.(slot);
  if (!up) return null;
  const img = up.imgs?.[0];
  if (img && img.naturalWidth) {
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

function heatColour(score) {
  const s = Math.max(0, Math.min(2, score));
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

function drawPlan(node, ctx, plan, report) {
  const widgetsBottom = Math.max(0, ...(node.widgets || []).map((w) => (w.last_y ?? w.y ?? 0))) + 26;
  const top = widgetsBottom + 4;
  const room = node.size[1] - top - 22;
  if (room < 30) return 0;
  const scale = Math.min((node.size[0] - 16) / plan.width, room / plan.height);
  const ox = (node.size[0] - plan.width * scale) / 2;
  const oy = top;
  ctx.save();
  ctx.fillStyle = "#222";
  ctx.fillRect(ox, oy, plan.width * scale, plan.height * scale);
  let n = 0;
  for (const y of plan.ys) {
    for (const x of plan.xs) {
      ctx.fillStyle = "rgba(90,150,255,0.16)";
      ctx.fillRect(ox + x * scale, oy + y * scale, plan.tile_width * scale, plan.tile_height * scale);
      ctx.strokeStyle = "rgba(140,190,255,0.9)";
      ctx.lineWidth = 1;
      ctx.strokeRect(ox + x * scale + 0.5, oy + y * scale + 0.5, plan.tile_width * scale - 1, plan.tile_height * scale - 1);
      n += 1;
    }
  }
  const seams = report ? report.seams : plan.seams;
  seams.forEach((s, i) => {
    ctx.strokeStyle = report ? heatColour(s.score) : "rgba(255,255,255,0.55)";
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
  ctx.fillStyle = "#bbb";
  ctx.font = "11px sans-serif";
  const caption = report
    ? `${report.visible} of ${report.seams.length} seams visible`
    : `${plan.ys.length} x ${plan.xs.length} tiles of ${plan.tile_width} x ${plan.tile_height}`;
  ctx.fillText(caption, ox, oy + plan.height * scale + 14);
  ctx.restore();
  return n;
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
        this.setSize([Math.max(this.size[0], 300), this.size[1] + PREVIEW_HEIGHT]);
        return r;
      };
      const onDrawForeground = nodeType.prototype.onDrawForeground;
      nodeType.prototype.onDrawForeground = function (ctx) {
        const r = onDrawForeground?.apply(this, arguments);
        if (this.flags?.collapsed) return r;
        refreshPlan(this, spec); // cheap when nothing changed (same key)
        const o = this.tilestitchOverlay;
        if (o?.plan) o.drawnTiles = drawPlan(this, ctx, o.plan, reportFor(o.plan));
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
          state.lastReport = { ...rep, visible: rep.seams.filter((s) => s.visible).length };
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
        const plan = { ...rep.plan };
        if (this.size[1] < 260) this.setSize([Math.max(this.size[0], 300), this.size[1] + PREVIEW_HEIGHT]);
        drawPlan(this, ctx, plan, rep);
        return r;
      };
    }
  },
});
