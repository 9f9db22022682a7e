// keylike's page: send one photo to POST /analyze and show the answer (see keylike/serving/response.py).
"use strict";

const $ = (id) => document.getElementById(id);

const TITLES = {
  no_key: "No key in the photo",
  low_confidence: "Unsure: this is only a best guess",
  invalid_bitting: "Keyway read, but not the cuts",
  answer_unparseable: "The key could not be read",
};

async function analyze(file) {
  $("preview").src = URL.createObjectURL(file);
  $("preview").hidden = false;
  $("result").hidden = true;
  $("status").textContent = "Reading the key…";
  const form = new FormData();
  form.append("image", file, file.name || "photo.jpg");
  let body;
  try {
    const response = await fetch("analyze", { method: "POST", body: form });
    body = await response.json();
  } catch (err) {
    body = { success: false, error: "no_answer", message: `the server did not answer (${err.message}); try again` };
  }
  $("status").textContent = "";
  show(body);
}

function show(body) {
  const reading = body.success ? body : body.bestGuess || body;
  $("result").dataset.state = body.success ? "reading" : body.error;
  $("result-title").textContent = body.success ? `${body.brand} ${body.keyway}` : TITLES[body.error] || "Photo refused";
  $("problem").hidden = body.success;
  $("error-code").textContent = body.error || "";
  $("message").textContent = body.message || "";
  $("reading").hidden = !reading.keyway;
  $("keyway").textContent = reading.keyway || "";
  $("brand").textContent = reading.brand || "";
  $("bitting").textContent = reading.bittingCuts ? reading.bittingCuts.join(" ") : "not readable";
  $("confidence").textContent = "confidence" in body ? percent(body.confidence) : "";
  drawCuts(reading);
  showRisk(reading);
  $("raw").hidden = !body.answer;
  $("answer").textContent = body.answer || "";
  $("result").hidden = false;
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
}

function showRisk(reading) {
  const risk = reading.keyedAlikeRisk;
  $("risk").hidden = !risk;
  if (!risk) return;
  $("risk-score").textContent = risk.score;
  $("risk-level").textContent = risk.level;
  $("risk-level").className = `level-${risk.level}`;
  fillList("factors", risk.factors, (f) => `${f.name}: ${f.value ?? "n/a"} (${f.detail})`);
  const unit = (field) => (reading.sources.find((s) => s.field === field) || {}).unit || "";
  $("production").textContent = `${reading.estimatedAnnualProduction.toLocaleString("en-US")} ${unit("estimatedAnnualProduction")}`;
  $("penetration").textContent = `${percent(reading.marketPenetration)} (${unit("marketPenetration")})`;
  $("time-in-market").textContent = `${reading.timeInMarket} years`;
  $("complexity").textContent = `${reading.manufacturingComplexity}/100`;
  fillList("sources", reading.sources, (s) =>
    `${s.field}: ${JSON.stringify(s.value)}${s.unit ? " " + s.unit : ""}${s.estimate ? " (estimate)" : ""}. ` +
    `${s.basis}${s.citation ? " Source: " + s.citation : ""}`);
}

function percent(x) {
  return `${(100 * x).toFixed(1)} %`;
}

function fillList(id, items, text) {
  $(id).replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.textContent = text(item);
    return li;
  }));
}

// The blade seen from the side: the bow, then one cut per depth code (deeper codes cut deeper), each a
// flat at its depth between steep flanks; neighbouring flanks meet in a peak, cut off by the blade's top.
function drawCuts(reading) {
  const svg = $("cuts");
  const cuts = reading.bittingCuts;
  svg.toggleAttribute("hidden", !cuts);  // an SVG element has no `hidden` property
  if (!cuts) return;
  const codes = reading.risk ? reading.risk.effectiveDepthCodes : cuts;
  const low = Math.min(...codes, ...cuts), high = Math.max(...codes, ...cuts);
  const top = 30, bottom = 88, left = 78, right = 300, flat = 5, slope = 2;
  const step = (right - 20 - left) / cuts.length;
  const order = reading.bittingOrder === "tip_to_bow" ? [...cuts].reverse() : cuts;
  const xs = order.map((_, i) => left + (i + 0.5) * step);
  const ys = order.map((depth) => top + 4 + (depth - low + 1) / (high - low + 1) * 36);
  const points = [[left, top]];
  xs.forEach((x, i) => {
    points.push([x - flat, ys[i]], [x + flat, ys[i]]);
    if (i + 1 === xs.length) return;
    const x0 = x + flat, x1 = xs[i + 1] - flat;
    const px = Math.min(x1, Math.max(x0, (x0 + x1 + (ys[i] - ys[i + 1]) / slope) / 2));
    const py = ys[i] - (px - x0) * slope;
    points.push(...(py >= top ? [[px, py]] : [[x0 + (ys[i] - top) / slope, top], [x1 - (ys[i + 1] - top) / slope, top]]));
  });
  points.push([right - 18, top], [right, (top + bottom) / 2 + 6], [right - 10, bottom], [left, bottom]);
  const ns = "http://www.w3.org/2000/svg";
  const shape = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    Object.entries(attrs).forEach(([k, v]) => el.setAttribute(k, v));
    if (text !== undefined) el.textContent = text;
    return el;
  };
  svg.replaceChildren(
    shape("circle", { cx: 40, cy: 59, r: 34, class: "bow" }),
    shape("polygon", { points: points.map((p) => p.join(",")).join(" "), class: "blade" }),
    ...order.map((depth, i) => shape("text", { x: xs[i], y: 112, class: "depth" }, depth)),
  );
  svg.setAttribute("aria-label", `Cut depths ${cuts.join(", ")}, ${(reading.bittingOrder || "bow_to_tip").replaceAll("_", " ")}`);
}

function onFiles(files) {
  if (files && files[0]) analyze(files[0]);
}

$("camera").addEventListener("change", (e) => onFiles(e.target.files));
$("photo").addEventListener("change", (e) => onFiles(e.target.files));
const zone = $("upload");
zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  zone.classList.remove("dragging");
  onFiles(e.dataTransfer.files);
});
