// The share browser: list, download, upload with progress, new folder, delete.
import init, { connect } from "./pkg/pike_wasm.js";

const $ = (id) => document.getElementById(id);
let share = null;
let cwd = "";

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function fail(e) {
  status(`${e.code ?? e.name}: ${e.message}`, true);
  document.body.dataset.lastError = e.code ?? e.name;
}

function join(dir, name) {
  return dir ? `${dir}/${name}` : name;
}

function showProgress(done, total) {
  $("progress").max = total || 1;
  $("progress").value = done;
  $("progress-text").textContent = `${(done / 1048576).toFixed(1)} / ${(total / 1048576).toFixed(1)} MiB`;
}

async function refresh() {
  const entries = await share.list(cwd);
  entries.sort((a, b) => (b.isDir - a.isDir) || a.name.localeCompare(b.name));
  const body = $("listing");
  body.replaceChildren();
  for (const e of entries) {
    const tr = document.createElement("tr");
    tr.dataset.name = e.name;
    const name = document.createElement("td");
    name.textContent = e.isDir ? `${e.name}/` : e.name;
    if (e.isDir) {
      name.className = "dir";
      name.onclick = () => { cwd = join(cwd, e.name); run(refresh); };
    }
    const size = document.createElement("td");
    size.className = "size";
    size.textContent = e.isDir ? "" : e.size.toLocaleString();
    const mtime = document.createElement("td");
    mtime.textContent = e.modified ? e.modified.toLocaleString() : "";
    const actions = document.createElement("td");
    if (!e.isDir) actions.append(button("Download", "download", () => download(e.name)));
    actions.append(button("Delete", "delete", () => remove(e.name)));
    tr.append(name, size, mtime, actions);
    body.append(tr);
  }
  crumbs();
  document.body.dataset.listed = String(Date.now());
}

function button(text, cls, onclick) {
  const b = document.createElement("button");
  b.textContent = text;
  b.className = cls;
  b.onclick = () => run(onclick);
  return b;
}

function crumbs() {
  const c = $("crumbs");
  c.replaceChildren();
  const parts = cwd ? cwd.split("/") : [];
  const root = document.createElement("a");
  root.textContent = `\\\\${$("server").value}\\${$("share").value}`;
  root.onclick = () => { cwd = ""; run(refresh); };
  c.append(root);
  parts.forEach((p, i) => {
    const a = document.createElement("a");
    a.textContent = `\\${p}`;
    a.onclick = () => { cwd = parts.slice(0, i + 1).join("/"); run(refresh); };
    c.append(a);
  });
}

async function download(name) {
  status(`downloading ${name}…`);
  const bytes = await share.readFile(join(cwd, name), showProgress);
  const url = URL.createObjectURL(new Blob([bytes]));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  status(`downloaded ${name} (${bytes.length.toLocaleString()} bytes)`);
  document.body.dataset.downloaded = name;
}

async function upload() {
  const file = $("upload-file").files[0];
  if (!file) throw Object.assign(new Error("choose a file first"), { code: "USAGE" });
  status(`uploading ${file.name}…`);
  // A Blob is read piecewise: large files never sit in memory whole.
  await share.writeFile(join(cwd, file.name), file, showProgress);
  status(`uploaded ${file.name} (${file.size.toLocaleString()} bytes)`);
  await refresh();
  document.body.dataset.uploaded = file.name;
}

async function remove(name) {
  await share.remove(join(cwd, name));
  status(`deleted ${name}`);
  await refresh();
}

async function mkdir() {
  const name = $("newdir").value.trim();
  if (!name) return;
  await share.mkdir(join(cwd, name));
  $("newdir").value = "";
  await refresh();
}

async function run(f) {
  try {
    await f();
  } catch (e) {
    fail(e);
  }
}

async function doConnect() {
  status("connecting…");
  if (share) { share.free(); share = null; }
  share = await connect($("relay").value, {
    server: $("server").value,
    share: $("share").value,
    domain: $("domain").value,
    user: $("user").value || undefined,
    password: $("password").value,
    encrypt: $("encrypt").checked ? true : undefined,
  });
  $("session").textContent =
    `SMB ${share.dialect}${share.encrypted ? ", encrypted" : share.signed ? ", signed" : ""}`;
  $("browser").hidden = false;
  cwd = "";
  status("connected");
  await refresh();
  document.body.dataset.connected = "1";
}

// Prefill from the query string (?relay=…&server=…&share=…&domain=…&user=…).
for (const [k, v] of new URLSearchParams(location.search)) {
  if (k !== "password" && $(k)) $(k).value = v;
}
$("connect").onclick = () => run(doConnect);
$("upload").onclick = () => run(upload);
$("mkdir").onclick = () => run(mkdir);
$("refresh").onclick = () => run(refresh);
await init();
document.body.dataset.ready = "1";
// The page's API for scripts and benchmarks.
window.pike = { connect, get share() { return share; } };
