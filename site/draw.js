// The drawing surface. Pointer events (mouse, touch and pen) become strokes kept as point lists,
// so Undo can drop the last one and a resize can redraw them all. Whenever the ink changes (a
// stroke ends, Undo, Clear) an "ink" event fires on #canvas (app.js sends it to Python), whose
// detail is
//   {version, width, height, scale, ink, points, lengths, inkMs}
// ink being the ink's coverage (0..255, one byte a pixel, row-major, an ArrayBuffer) rendered
// from the strokes at `scale` ink pixels per CSS pixel, at most INK_MAX pixels on the longer
// side; points every stroke's (x, y) points in drawing order, in ink pixels (a Float32Array,
// x and y interleaved), lengths each stroke's point count (a Uint32Array). Every decision about
// digits is Python's (site/digits/); this file only draws and hands the ink over.

const INK_MAX = 400; // longest side of the ink image handed to Python, in pixels
const PEN = 0.045; // stroke width as a fraction of the canvas' shorter side: scales with the canvas
const MIN_STEP = 0.75; // CSS pixels: closer points add nothing but work

const canvas = document.getElementById("canvas");
const overlay = document.getElementById("overlay");
const undoButton = document.getElementById("undo");
const clearButton = document.getElementById("clear");
const ctx = canvas.getContext("2d");
const marks = overlay.getContext("2d");

let strokes = []; // [[x, y], ...] per stroke, in CSS pixels of the canvas at `size`
let current = null; // the stroke being drawn: {id: pointerId, points}
let size = { w: 0, h: 0 }; // the canvas' CSS size
let version = 0; // grows with every change of the ink; Python echoes it back (data-ink)
let lastMarks = [];
let inkScale = 1; // ink pixels per CSS pixel, as last handed to Python
let pending = false;
let colours = {};

const penWidth = () => Math.max(2, PEN * Math.min(size.w, size.h));

function readColours() {
  const style = getComputedStyle(document.documentElement);
  const get = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  colours = { ink: get("--ink", "#111"), mark: get("--accent", "#2563eb"), unsure: get("--warn", "#b45309"),
              onMark: get("--on-accent", "#fff") };
}

// A stroke as a smooth path: quadratic curves through the midpoints of successive points.
function trace(c, points) {
  c.beginPath();
  const [x0, y0] = points[0];
  c.moveTo(x0, y0);
  if (points.length === 1) {
    c.lineTo(x0 + 0.01, y0); // a dot: round caps make it a disc
  } else {
    for (let i = 1; i < points.length - 1; i++) {
      const [x, y] = points[i];
      const [nx, ny] = points[i + 1];
      c.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
    }
    const [xl, yl] = points[points.length - 1];
    c.lineTo(xl, yl);
  }
  c.stroke();
}

function paint(c, all, width, colour) {
  c.lineCap = "round";
  c.lineJoin = "round";
  c.lineWidth = width;
  c.strokeStyle = colour;
  for (const points of all) trace(c, points);
}

let frame = 0;
function redraw() {
  frame = 0;
  ctx.clearRect(0, 0, size.w, size.h);
  paint(ctx, current ? [...strokes, current.points] : strokes, penWidth(), colours.ink);
}
const scheduleRedraw = () => { if (!frame) frame = requestAnimationFrame(redraw); };

// --- the ink handed to Python ---------------------------------------------------------------

function ink({ whole = false } = {}) {
  const { scale, width, height } = inkSize(size.w, size.h);
  inkScale = scale;
  const data = render(strokes, scale, width, height, whole ? [0, 0, width, height] : inkBox(strokes, scale, width, height));
  const lengths = Uint32Array.from(strokes, (points) => points.length);
  const points = new Float32Array(2 * lengths.reduce((sum, n) => sum + n, 0));
  let k = 0;
  for (const stroke of strokes) for (const [x, y] of stroke) { points[k++] = x * scale; points[k++] = y * scale; }
  return { version, width, height, scale, ink: data.buffer, points, lengths };
}

// The ink handed to Python for a w x h (CSS pixels) canvas: ink pixels per CSS pixel (at most
// INK_MAX on the longer side), and its width and height.
function inkSize(w, h) {
  const scale = Math.min(1, INK_MAX / Math.max(w, h, 1));
  return { scale, width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

// `all` strokes (CSS pixels) painted at `scale` onto a width x height ink, one byte a pixel; only
// the box [x0, y0, x1, y1) (where the strokes are: inkBox) is read back, the rest stays zero.
function render(all, scale, width, height, [x0, y0, x1, y1]) {
  const surface = typeof OffscreenCanvas === "function"
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement("canvas"), { width, height });
  const c = surface.getContext("2d", { willReadFrequently: true });
  c.scale(scale, scale);
  paint(c, all, penWidth(), "#000");
  const data = new Uint8Array(width * height);
  if (x1 > x0 && y1 > y0) {
    const rgba = c.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    for (let y = y0, i = 3; y < y1; y++) {
      for (let k = y * width + x0, end = k + (x1 - x0); k < end; k++, i += 4) data[k] = rgba[i];
    }
  }
  return data;
}

// [x0, y0, x1, y1) in ink pixels around every point of `all` strokes, widened by half the pen and
// two pixels for antialiasing, within the ink image.
function inkBox(all, scale, width, height) {
  let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
  for (const stroke of all) {
    for (const [x, y] of stroke) {
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  if (left > right) return [0, 0, 0, 0];
  const reach = penWidth() / 2 * scale + 2;
  const clamp = (v, hi) => Math.min(hi, Math.max(0, v));
  return [clamp(Math.floor(left * scale - reach), width), clamp(Math.floor(top * scale - reach), height),
          clamp(Math.ceil(right * scale + reach), width), clamp(Math.ceil(bottom * scale + reach), height)];
}

// The first reading after ready ran this file's part of it for the first time: the ink's surface
// and its read-back, and the boxes' lettering, each several times slower than ever after. app.js
// has them run once here, in idle time after ready, on a made-up 7 and off screen: nothing the
// person sees or draws changes.
function warm() {
  const w = size.w || 400, h = size.h || 300;
  const { scale, width, height } = inkSize(w, h);
  const seven = [[[w * 0.35, h * 0.25], [w * 0.5, h * 0.25], [w * 0.65, h * 0.25], [w * 0.55, h * 0.5], [w * 0.45, h * 0.75]]];
  render(seven, scale, width, height, inkBox(seven, scale, width, height));
  const scratch = Object.assign(document.createElement("canvas"), { width: 64, height: 64 });
  letter(scratch.getContext("2d"), [{ left: 8, top: 24, right: 24, bottom: 56, label: 7, unsure: false },
                                    { left: 32, top: 24, right: 56, bottom: 56, label: 1, unsure: true }], 1);
}

function emit() {
  pending = false;
  const started = performance.now();
  const detail = ink();
  detail.inkMs = performance.now() - started;
  canvas.dispatchEvent(new CustomEvent("ink", { detail }));
}

function changed() {
  version += 1;
  canvas.dataset.version = version;
  undoButton.disabled = clearButton.disabled = strokes.length === 0;
  document.body.classList.toggle("has-ink", strokes.length > 0);
  mark([]);
  scheduleRedraw();
  // Python reads in a worker, so the ink goes at once; changes within one task are read once.
  if (!pending) {
    pending = true;
    queueMicrotask(emit);
  }
}

// --- pointer input -----------------------------------------------------------------------------

function point(event) {
  // The layout may have changed since the last resize() (a pointer event can come before the
  // ResizeObserver's callback): bring the stroke to the new geometry first, so that every point
  // of it is in one.
  resize();
  const rect = canvas.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

function add(points, p) {
  const last = points[points.length - 1];
  if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_STEP) points.push(p);
}

canvas.addEventListener("pointerdown", (event) => {
  if (current || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  canvas.setPointerCapture?.(event.pointerId);
  current = { id: event.pointerId, points: [point(event)] };
  mark([]);
  scheduleRedraw();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current || event.pointerId !== current.id) return;
  event.preventDefault();
  const events = event.getCoalescedEvents?.() ?? [];
  for (const e of events.length ? events : [event]) add(current.points, point(e));
  scheduleRedraw();
});

function end(event) {
  if (!current || event.pointerId !== current.id) return;
  if (event.type === "pointerup") add(current.points, point(event));
  strokes.push(current.points);
  current = null;
  changed();
}
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);
canvas.addEventListener("lostpointercapture", end);
// No scrolling, zooming or text selection while drawing (touch-action: none does the rest).
canvas.addEventListener("touchstart", (event) => event.preventDefault(), { passive: false });
canvas.addEventListener("contextmenu", (event) => event.preventDefault());

// --- Clear and Undo: buttons and keys ---------------------------------------------------------

// Undo or Clear that leaves nothing to undo disables its own button, and focus would fall to
// the page's body: it moves to the canvas instead, where the next digit is drawn.
function keepFocus(button) {
  if (button.disabled && (document.activeElement === button || document.activeElement === document.body))
    canvas.focus({ preventScroll: true });
}

function clear() {
  if (!strokes.length && !current) return;
  const focused = document.activeElement;
  strokes = [];
  current = null;
  changed();
  if (focused === undoButton || focused === clearButton) keepFocus(focused);
}

function undo() {
  if (!strokes.length) return;
  const focused = document.activeElement;
  strokes.pop();
  changed();
  if (focused === undoButton || focused === clearButton) keepFocus(focused);
}

clearButton.addEventListener("click", clear);
undoButton.addEventListener("click", undo);
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey) return;
  if (event.key === "Escape") {
    clear();
  } else if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  }
});

// --- boxes around the digits Python found ---------------------------------------------------------

// boxes: [{left, top, right, bottom, label, unsure}] in ink pixels (as Python received them)
function mark(boxes, scale) {
  lastMarks = boxes ? Array.from(boxes) : [];
  marks.clearRect(0, 0, size.w, size.h);
  letter(marks, lastMarks, 1 / (scale || inkScale));
}

// Each box drawn on context `c`, scaled by `k` (CSS pixels per ink pixel), with its label above it.
function letter(c, boxes, k) {
  if (!boxes.length) return;
  const pad = penWidth() * 0.25;
  const font = Math.round(Math.max(12, Math.min(18, size.h * 0.05)));
  c.font = `600 ${font}px system-ui, sans-serif`;
  c.textBaseline = "middle";
  for (const box of boxes) {
    const x = box.left * k - pad, y = box.top * k - pad;
    const w = (box.right - box.left) * k + 2 * pad, h = (box.bottom - box.top) * k + 2 * pad;
    const colour = box.unsure ? colours.unsure : colours.mark;
    c.setLineDash(box.unsure ? [4, 4] : []);
    c.lineWidth = 1.5;
    c.strokeStyle = colour;
    c.strokeRect(x, y, w, h);
    const text = box.unsure ? `${box.label}?` : String(box.label);
    const tw = c.measureText(text).width + 10;
    const ty = y - font - 6 >= 0 ? y - font - 6 : y + h + 2;
    c.fillStyle = colour;
    c.fillRect(x, ty, tw, font + 6);
    c.fillStyle = colours.onMark;
    c.fillText(text, x + 5, ty + (font + 6) / 2);
  }
}

// --- size: the canvas follows its CSS box; the strokes follow the canvas --------------------

function resize() {
  const rect = canvas.getBoundingClientRect();
  const w = rect.width, h = rect.height;
  if (!w || !h || (w === size.w && h === size.h)) return;
  const dpr = window.devicePixelRatio || 1;
  if (size.w && (strokes.length || current)) {
    // The stroke being drawn too: its next points arrive in the new geometry, and a stroke half
    // in the old one would bend (a 1 drawn across a resize became a Z).
    const k = Math.min(w / size.w, h / size.h);
    const scaled = (points) => points.map(([x, y]) => [x * k, y * k]);
    strokes = strokes.map(scaled);
    if (current) current.points = scaled(current.points);
  }
  size = { w, h };
  for (const c of [canvas, overlay]) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  redraw();
  if (strokes.length) changed(); // boxes and reading follow the new geometry
}

new ResizeObserver(resize).observe(canvas);
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  readColours();
  redraw();
  mark(lastMarks);
});
readColours();
resize();

window.pad = {
  clear,
  undo,
  emit, // read the current ink now (app.js calls this once Python is ready)
  ink, // the ink as emit() hands it over; ink({whole: true}) reads back the whole canvas (tests compare)
  mark,
  warm, // run the ink's and the boxes' drawing once, off screen (app.js, in idle time after ready)
  get version() { return version; },
  get strokes() { return strokes.length; },
};
