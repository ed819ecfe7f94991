// Latent explorer: the body of a gr.HTML `js_on_load` (Gradio passes element, trigger, props, server and watch;
// Plotly comes from the component's `head` script). The component's value names the view (run, colouring); the
// payload that latentgap/ui/explorer.py builds for it comes from the `explorer_payload` server function: a plotly
// figure whose traces carry each point's sample position as customdata, and per-sample metadata as typed arrays.
// Hover shows a card with the sample's stored thumbnails; a box / lasso selection is highlighted in every panel
// and sent to Python as a 'selection' event (the gallery). Nothing is computed on the server while hovering.
const plot = element.querySelector(".lg-plot");
const card = element.querySelector(".lg-card");
const note = element.querySelector(".lg-note");
const TYPES = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array,
  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array,
};
let meta = null; // per-sample metadata of the drawn run
let traces = []; // per trace: the sample positions of its points (customdata)
let selected = null; // Uint8Array over sample positions, or null when nothing is selected
let bound = false;

function decode(v) {
  // plotly.py's typed-array JSON ({dtype, bdata: base64}) -> a typed array; anything else unchanged
  if (!v || typeof v !== "object" || v.bdata === undefined) return v;
  let bytes;
  if (Uint8Array.fromBase64) bytes = Uint8Array.fromBase64(v.bdata); // native: megabytes in milliseconds
  else {
    const bin = atob(v.bdata);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  return new TYPES[v.dtype](bytes.buffer);
}

function unit(bytes) {
  // one byte a value in [0, 1] (explorer.py `_unit`): round(254 v), 255 for none
  return Float32Array.from(bytes, (b) => (b === 255 ? NaN : b / 254));
}

function decodeMeta(m) {
  const out = { ...m, predicted: {}, confidence: {} };
  for (const k of ["sample_index", "label", "split", "psnr"]) out[k] = decode(m[k]);
  out.ssim = unit(decode(m.ssim));
  for (const arm of m.arms) {
    out.predicted[arm] = decode(m.predicted[arm]);
    out.confidence[arm] = unit(decode(m.confidence[arm]));
  }
  out.thumbs = m.thumbs ? { ...m.thumbs, have: new Set(decode(m.thumbs.samples)) } : null;
  return out;
}

let requested = 0; // the newest request: an older payload that arrives late is dropped

async function load() {
  const request = props.value ? JSON.parse(props.value) : null;
  const id = ++requested;
  if (!request || !request.run) return draw({ message: "choose a run" });
  note.textContent = "loading …";
  let payload;
  try {
    payload = JSON.parse(await server.explorer_payload(request));
  } catch (e) {
    payload = { message: "could not load this view: " + e };
  }
  if (id === requested) draw(payload);
}

function draw(payload) {
  if (!payload || payload.message) {
    note.textContent = payload ? payload.message : "";
    if (window.Plotly) Plotly.purge(plot);
    meta = null;
    traces = [];
    bound = false;
    return;
  }
  note.textContent = "";
  const newRun = !meta || meta.run !== payload.meta.run;
  meta = decodeMeta(payload.meta);
  if (newRun) selected = null;
  const fig = payload.figure;
  for (const t of fig.data) {
    for (const k of ["x", "y", "customdata"]) t[k] = decode(t[k]);
    if (t.marker && t.marker.color) t.marker.color = decode(t.marker.color);
  }
  traces = fig.data.map((t) => t.customdata);
  Plotly.react(plot, fig.data, fig.layout, { displaylogo: false, responsive: true, scrollZoom: true }).then(() => {
    bind();
    if (selected) applySelection();
    plot.dataset.rendered = String(Number(plot.dataset.rendered || 0) + 1); // tests wait for a fresh render
  });
}

function className(c) {
  return c >= 0 && c < meta.class_names.length ? meta.class_names[c] : String(c);
}

function add(parent, tag, text, cls) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  if (cls) el.className = cls;
  parent.appendChild(el);
  return el;
}

function fillCard(pos) {
  // thumbnails and metadata of one sample; every string goes in as text (class names come from user data)
  const s = meta.sample_index[pos];
  const thumbs = card.querySelector(".lg-thumbs");
  const lines = card.querySelector(".lg-meta");
  thumbs.replaceChildren();
  lines.replaceChildren();
  if (meta.thumbs && meta.thumbs.have.has(s)) {
    for (const kind of meta.thumbs.kinds.filter((k) => k !== "latent")) {
      const fig = add(thumbs, "figure");
      const img = add(fig, "img");
      img.alt = kind;
      img.className = "lg-thumb-" + kind;
      img.src = meta.thumbs.base + s + "-" + kind + "." + meta.thumbs.suffix[kind];
      add(fig, "figcaption", kind === "error" ? "|error| 0–" + meta.thumbs.error_max : kind);
    }
  } else {
    add(thumbs, "div", meta.thumbs ? "no thumbnail stored for this sample (the run keeps " + meta.thumbs.count +
      ", test split first)" : "this run stored no thumbnails (it predates them)", "lg-none");
  }
  add(lines, "div", "sample " + s + " · class " + className(meta.label[pos]) + " · " + (meta.splits[meta.split[pos]] || "other") +
    " split", "lg-title");
  if (meta.psnr && !Number.isNaN(meta.psnr[pos])) {
    add(lines, "div", "reconstruction PSNR " + meta.psnr[pos].toFixed(1) + " dB · SSIM " + meta.ssim[pos].toFixed(3));
  }
  for (const arm of meta.arms) {
    const p = meta.predicted[arm][pos];
    if (p < 0) continue;
    const ok = p === meta.label[pos];
    const conf = meta.confidence[arm][pos];
    add(lines, "div", arm + ": " + className(p) + (ok ? " ✓" : " ✗") + (Number.isNaN(conf) ? "" :
      " (" + conf.toFixed(2) + ")"), ok ? "lg-right" : "lg-wrong");
  }
}

function showCard(ev) {
  if (!meta || !ev.points || !ev.points.length) return;
  const pt = ev.points[0];
  const pos = traces[pt.curveNumber][pt.pointIndex];
  fillCard(pos);
  card.dataset.sample = String(meta.sample_index[pos]);
  card.style.display = "block";
  const box = element.getBoundingClientRect();
  const x = (ev.event ? ev.event.clientX : box.left + box.width / 2) - box.left;
  const y = (ev.event ? ev.event.clientY : box.top + box.height / 2) - box.top;
  const w = card.offsetWidth;
  card.style.left = (x + 18 + w > box.width ? Math.max(0, x - 18 - w) : x + 18) + "px";
  card.style.top = Math.max(0, Math.min(y + 12, box.height - card.offsetHeight)) + "px";
}

function applySelection(except) {
  // mark the selected samples in every trace (but those of the panel plotly just selected in: it marked them)
  const which = traces.map((_, i) => i).filter((i) => !except || plot._fullData[i].xaxis !== except);
  if (!which.length) return Promise.resolve();
  const points = which.map((i) => {
    if (!selected) return null;
    const cd = traces[i];
    const keep = [];
    for (let j = 0; j < cd.length; j++) if (selected[cd[j]]) keep.push(j);
    return keep;
  });
  return Plotly.restyle(plot, { selectedpoints: points }, which);
}

function afterPaint() {
  // the highlight is drawn before Python fills the gallery (which keeps the page busy for a moment)
  return new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
}

function send() {
  const samples = [];
  if (selected) for (let i = 0; i < selected.length; i++) if (selected[i]) samples.push(meta.sample_index[i]);
  trigger("selection", { samples });
}

function bind() {
  if (bound) return;
  bound = true;
  plot.on("plotly_hover", showCard);
  const hide = () => { card.style.display = "none"; };
  plot.on("plotly_unhover", hide);
  plot.on("plotly_selecting", hide); // a drag in progress: the card would cover the box
  plot.addEventListener("mouseleave", hide); // plotly does not always unhover when the pointer leaves after a drag
  plot.on("plotly_selected", (ev) => {
    if (!ev || !meta) return; // plotly also fires it empty when a drag ends outside any point set
    selected = new Uint8Array(meta.n);
    for (const p of ev.points) selected[traces[p.curveNumber][p.pointIndex]] = 1;
    const panel = ev.points.length ? plot._fullData[ev.points[0].curveNumber].xaxis : null;
    applySelection(panel) // the same samples in the other panels
      .then(afterPaint)
      .then(() => {
        plot.dataset.linked = String(Number(plot.dataset.linked || 0) + 1); // tests and timings wait for it
        send();
      });
  });
  plot.on("plotly_deselect", () => {
    selected = null;
    applySelection().then(send);
  });
}

plot.sampleAt = (pos) => (meta ? meta.sample_index[pos] : null); // a point's sample number (for tests and scripts)
watch("value", load);
if (props.value) load();
