// Latent explorer: the body of a gr.HTML `js_on_load` (Gradio passes element, trigger, props and watch; Plotly
// comes from the component's `head` script). It draws the payload that latentgap/ui/explorer.py builds: a plotly
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
  const bin = atob(v.bdata);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TYPES[v.dtype](bytes.buffer);
}

function decodeMeta(m) {
  const out = { ...m, predicted: {}, confidence: {} };
  for (const k of ["sample_index", "label", "split", "psnr", "ssim"]) out[k] = decode(m[k]);
  for (const arm of m.arms) {
    out.predicted[arm] = decode(m.predicted[arm]);
    out.confidence[arm] = decode(m.confidence[arm]);
  }
  out.thumbs = m.thumbs ? { ...m.thumbs, have: new Set(decode(m.thumbs.samples)) } : null;
  return out;
}

function render() {
  const payload = props.value ? JSON.parse(props.value) : null;
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
    applySelection();
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
  add(lines, "div", "sample " + s + " · class " + className(meta.label[pos]) + " · " + meta.splits[meta.split[pos]] +
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

function applySelection() {
  if (!traces.length) return;
  const points = traces.map((cd) => {
    if (!selected) return null;
    const keep = [];
    for (let i = 0; i < cd.length; i++) if (selected[cd[i]]) keep.push(i);
    return keep;
  });
  Plotly.restyle(plot, { selectedpoints: points }, traces.map((_, i) => i));
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
  plot.on("plotly_selected", (ev) => {
    if (!ev || !meta) return; // plotly also fires it empty when a drag ends outside any point set
    selected = new Uint8Array(meta.n);
    for (const p of ev.points) selected[traces[p.curveNumber][p.pointIndex]] = 1;
    applySelection(); // the same samples in every panel
    send();
  });
  plot.on("plotly_deselect", () => {
    selected = null;
    applySelection();
    send();
  });
}

watch("value", render);
if (props.value) render();
