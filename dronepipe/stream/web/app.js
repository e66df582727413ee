// dronepipe live: the command-centre page. Works offline: a small Web-Mercator tile map
// on a canvas (our own tiles only), hotspot markers and the drone as positioned elements,
// an alert list, all fed by /events (Server-Sent Events) and the JSON routes.
(function () {
  'use strict';

  const TILE = 256;
  const MIN_ZOOM = 2;
  const MAX_ZOOM = 23;
  const START_ZOOM = 18;
  const STATUS_POLL_MS = 3000;
  const TRACK_MAX = 600;
  const token = new URLSearchParams(location.search).get('token');

  // ---- small helpers ---------------------------------------------------------------
  function withToken(url) {
    if (!token) return url;
    return url + (url.indexOf('?') >= 0 ? '&' : '?') + 'token=' + encodeURIComponent(token);
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function throttle(fn, ms) {
    let last = 0, timer = null;
    return function () {
      const wait = last + ms - Date.now();
      if (wait <= 0) { last = Date.now(); fn(); }
      else if (!timer) { timer = setTimeout(function () { timer = null; last = Date.now(); fn(); }, wait); }
    };
  }
  async function getJSON(path) {
    const r = await fetch(withToken(path), { cache: 'no-store' });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  // ---- Web Mercator: world coordinates in 0..1 (x east, y south) -------------------
  function project(lon, lat) {
    const s = Math.sin(clamp(lat, -85.05112878, 85.05112878) * Math.PI / 180);
    return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
  }
  function unproject(x, y) {
    const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180 / Math.PI;
    return [x * 360 - 180, lat];
  }

  // ---- state -----------------------------------------------------------------------
  const state = {
    cx: 0.5, cy: 0.5, zoom: 3, centred: false, follow: true, kind: 'thermal', gen: 0,
    hotspots: new Map(),     // id -> {lon, lat, p (properties), fresh}
    alerts: [],              // ids, newest alert first
    drone: null, droneWall: 0, track: [],
    status: null, mosaics: {}, legendKey: '', radiometric: true, serverOffsetS: 0,
    loaded: false,
  };
  const mapEl = $('map');
  const canvas = $('tiles');
  const ctx = canvas.getContext('2d');
  let width = 0, height = 0, dpr = 1;

  // ---- view transform ----------------------------------------------------------------
  function worldPx() { return TILE * Math.pow(2, state.zoom); }
  function toScreen(x, y) {
    const s = worldPx();
    return [(x - state.cx) * s + width / 2, (y - state.cy) * s + height / 2];
  }
  function toWorld(sx, sy) {
    const s = worldPx();
    return [state.cx + (sx - width / 2) / s, state.cy + (sy - height / 2) / s];
  }
  function setView(x, y, zoom) {
    state.cx = clamp(x, 0, 1);
    state.cy = clamp(y, 0, 1);
    if (zoom !== undefined) state.zoom = clamp(zoom, MIN_ZOOM, MAX_ZOOM);
    scheduleDraw();
  }
  function zoomAround(sx, sy, newZoom) {
    newZoom = clamp(newZoom, MIN_ZOOM, MAX_ZOOM);
    const before = toWorld(sx, sy);
    state.zoom = newZoom;
    const after = toWorld(sx, sy);
    setView(state.cx + before[0] - after[0], state.cy + before[1] - after[1]);
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = mapEl.clientWidth;
    height = mapEl.clientHeight;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    scheduleDraw();
  }

  // ---- tiles ---------------------------------------------------------------------------
  const tiles = new Map();   // "kind/z/x/y" -> {img, gen, loading, used}
  let frameNo = 0;
  function tileEntry(kind, z, x, y, load) {
    const key = kind + '/' + z + '/' + x + '/' + y;
    let t = tiles.get(key);
    if (!t) {
      if (!load) return null;
      t = { img: null, gen: -1, loading: false, used: 0 };
      tiles.set(key, t);
    }
    t.used = frameNo;
    if (load && t.gen !== state.gen && !t.loading) {
      const img = new Image();
      const gen = state.gen;
      t.loading = true;
      img.onload = function () { t.img = img; t.gen = gen; t.loading = false; scheduleDraw(); };
      img.onerror = function () { t.img = null; t.gen = gen; t.loading = false; };  // 204: no data
      img.src = withToken('tiles/' + key + '.png?v=' + gen);
    }
    return t;
  }
  function pruneTiles() {
    if (tiles.size < 400) return;
    const old = Array.from(tiles.entries()).sort(function (a, b) { return a[1].used - b[1].used; });
    for (let i = 0; i < old.length - 300; i++) tiles.delete(old[i][0]);
  }
  function mosaicRange(z) {
    const m = state.mosaics[state.kind];
    if (!m || !m.bounds_lonlat) return null;
    const b = m.bounds_lonlat, n = Math.pow(2, z);
    const nw = project(b[0], b[3]), se = project(b[2], b[1]);
    return [Math.floor(nw[0] * n), Math.floor(nw[1] * n), Math.floor(se[0] * n), Math.floor(se[1] * n)];
  }
  function drawTiles() {
    const z = clamp(Math.round(state.zoom), 0, 22);
    const n = Math.pow(2, z);
    const size = TILE * Math.pow(2, state.zoom - z);
    const tl = toWorld(0, 0), br = toWorld(width, height);
    const r = mosaicRange(z);
    if (!r) return;
    const x0 = Math.max(Math.floor(tl[0] * n), r[0], 0), x1 = Math.min(Math.floor(br[0] * n), r[2], n - 1);
    const y0 = Math.max(Math.floor(tl[1] * n), r[1], 0), y1 = Math.min(Math.floor(br[1] * n), r[3], n - 1);
    if (x1 - x0 > 40 || y1 - y0 > 40) return;
    ctx.imageSmoothingEnabled = size < TILE;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const p = toScreen(x / n, y / n);
        const t = tileEntry(state.kind, z, x, y, true);
        if (t.img) ctx.drawImage(t.img, p[0], p[1], size + 0.5, size + 0.5);
        else drawParent(z, x, y, p, size);
      }
    }
  }
  function drawParent(z, x, y, p, size) {
    for (let up = 1; up <= 4 && z - up >= 0; up++) {
      const f = Math.pow(2, up);
      const t = tileEntry(state.kind, z - up, Math.floor(x / f), Math.floor(y / f), false);
      if (t && t.img) {
        const sub = TILE / f;
        ctx.drawImage(t.img, (x % f) * sub, (y % f) * sub, sub, sub, p[0], p[1], size + 0.5, size + 0.5);
        return;
      }
    }
  }
  function refreshTiles() { state.gen += 1; scheduleDraw(); }
  const refreshTilesSoon = throttle(refreshTiles, 1500);

  // ---- vector overlays on the canvas -----------------------------------------------------
  function drawPath(lonlats, close) {
    ctx.beginPath();
    lonlats.forEach(function (ll, i) {
      const w = project(ll[0], ll[1]), s = toScreen(w[0], w[1]);
      if (i === 0) ctx.moveTo(s[0], s[1]); else ctx.lineTo(s[0], s[1]);
    });
    if (close) ctx.closePath();
  }
  function drawOverlays() {
    const m = state.mosaics[state.kind];
    if (m && m.bounds_lonlat) {
      const b = m.bounds_lonlat;
      ctx.setLineDash([6, 6]); ctx.strokeStyle = 'rgba(255,255,255,0.25)'; ctx.lineWidth = 1;
      drawPath([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]], true); ctx.stroke();
      ctx.setLineDash([]);
    }
    if (state.track.length > 1) {
      ctx.strokeStyle = 'rgba(0,229,255,0.55)'; ctx.lineWidth = 2;
      drawPath(state.track, false); ctx.stroke();
    }
    const d = state.drone;
    if (d && d.footprint_lonlat && d.footprint_lonlat.length > 2) {
      ctx.strokeStyle = '#00e5ff'; ctx.lineWidth = 2; ctx.fillStyle = 'rgba(0,229,255,0.08)';
      drawPath(d.footprint_lonlat, true); ctx.fill(); ctx.stroke();
    }
  }

  // ---- drawing -------------------------------------------------------------------------
  let drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(draw);
  }
  function draw() {
    drawPending = false;
    frameNo += 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    drawTiles();
    drawOverlays();
    placeMarkers();
    drawScale();
    pruneTiles();
  }
  function placeAt(node, lon, lat) {
    const w = project(lon, lat), s = toScreen(w[0], w[1]);
    const inside = s[0] > -40 && s[1] > -40 && s[0] < width + 40 && s[1] < height + 40;
    node.style.display = inside ? '' : 'none';
    node.style.transform = 'translate(' + s[0].toFixed(1) + 'px,' + s[1].toFixed(1) + 'px)';
  }
  function placeMarkers() {
    state.hotspots.forEach(function (h) { placeAt(h.marker, h.lon, h.lat); });
    const d = state.drone, dn = $('drone');
    if (d) {
      dn.hidden = false;
      placeAt(dn, d.lon_deg, d.lat_deg);
      dn.firstElementChild.style.transform = 'rotate(' + (d.heading_deg || 0) + 'deg)';
    }
    $('empty').hidden = !!(d || state.hotspots.size || Object.keys(state.mosaics).length);
  }
  function drawScale() {
    const lat = unproject(state.cx, state.cy)[1];
    const mPerPx = 40075016.686 * Math.cos(lat * Math.PI / 180) / worldPx();
    const target = mPerPx * 110;
    const p = Math.pow(10, Math.floor(Math.log10(target)));
    const nice = [1, 2, 5, 10].map(function (k) { return k * p; }).filter(function (v) { return v <= target; }).pop() || p;
    $('scale-bar').style.width = (nice / mPerPx).toFixed(0) + 'px';
    $('scale-text').textContent = nice >= 1000 ? (nice / 1000) + ' km' : nice + ' m';
  }

  // ---- hotspots and alerts ---------------------------------------------------------------
  const RANK = { fire: 3, ember: 2, anomaly: 1, person: 0 };
  const LABEL = { fire: 'Fire', ember: 'Ember nest', anomaly: 'Warm anomaly', person: 'Person' };
  function featureOf(data) {
    if (!data || typeof data !== 'object') return null;
    const p = data.properties || data;
    let c = data.geometry && data.geometry.coordinates;
    if (!c && p.lon != null && p.lat != null) c = [p.lon, p.lat];
    if (!c || p.id == null) return null;
    return { id: p.id, lon: +c[0], lat: +c[1], p: p };
  }
  function tempText(p) {
    if (p.max_c == null) return '';
    const rel = p.radiometric === false || (p.radiometric == null && !state.radiometric);
    return Math.round(p.max_c) + (rel ? ' (relative)' : ' °C');
  }
  function ageText(iso) {
    if (!iso) return '';
    const s = Math.max(0, nowUtcS() - Date.parse(iso) / 1000);
    if (s < 60) return Math.round(s) + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
  }
  function nowUtcS() {
    // The flight's clock where the drone reports it (replays run on flight time),
    // else the server's clock.
    if (state.drone && state.drone.t_utc_s) return state.drone.t_utc_s + (Date.now() - state.droneWall) / 1000;
    return Date.now() / 1000 + state.serverOffsetS;
  }
  function upsertHotspot(f, isEvent) {
    const old = state.hotspots.get(f.id);
    const cls = f.p['class'] || 'anomaly';
    let h = old;
    if (!h) {
      h = { marker: el('div', 'hs-marker', String(f.id)) };
      h.marker.dataset.id = f.id;
      h.marker.addEventListener('click', function (ev) { ev.stopPropagation(); showPopup(f.id); });
      $('markers').appendChild(h.marker);
      state.hotspots.set(f.id, h);
    }
    const escalated = old && RANK[cls] > RANK[old.p['class']];
    h.lon = f.lon; h.lat = f.lat; h.p = f.p;
    h.marker.className = 'hs-marker cls-' + cls;
    h.marker.title = '#' + f.id + ' ' + (LABEL[cls] || cls) + ' ' + tempText(f.p) + ' ' + (f.p.mgrs || '');
    if (!old || escalated) {
      state.alerts = state.alerts.filter(function (i) { return i !== f.id; });
      state.alerts.unshift(f.id);
      if (isEvent) { h.fresh = Date.now(); h.marker.classList.add('fresh'); }
    }
    if (!state.centred && !state.drone) centreOn(f.lon, f.lat);
  }
  const alertEls = new Map();   // id -> {li, what, where, when}
  function alertItem(id) {
    let a = alertEls.get(id);
    if (a) return a;
    const h = state.hotspots.get(id);
    a = { li: el('li', 'alert'), num: el('span', 'num', String(id)), what: el('span', 'what'),
          where: el('span', 'where'), when: el('span', 'when') };
    a.li.dataset.id = id;
    a.li.append(a.num, a.what, a.where, a.when);
    a.li.addEventListener('click', function () { centreOn(h.lon, h.lat, Math.max(state.zoom, 19)); showPopup(id); });
    alertEls.set(id, a);
    return a;
  }
  function renderAlerts() {
    const ul = $('alerts');
    const lis = state.alerts.map(function (id) {
      const h = state.hotspots.get(id), p = h.p, cls = p['class'], a = alertItem(id);
      a.num.className = 'num cls-' + cls;
      a.what.textContent = (LABEL[cls] || cls) + (p.max_c != null ? ' · max ' + tempText(p) : '');
      a.where.textContent = p.mgrs || (h.lat.toFixed(6) + ', ' + h.lon.toFixed(6));
      a.when.textContent = 'seen ' + ageText(p.last_seen_utc) +
        (p.area_m2 != null ? ' · ' + p.area_m2.toFixed(1) + ' m²' : '');
      a.li.classList.toggle('new', !!h.fresh && Date.now() - h.fresh < 20000);
      return a.li;
    });
    lis.forEach(function (li, i) {   // move only what is out of place (animations keep running)
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    while (ul.children.length > lis.length) ul.removeChild(ul.lastChild);
    $('alert-count').textContent = String(state.alerts.length);
  }
  const renderAlertsSoon = throttle(renderAlerts, 200);
  function showPopup(id) {
    const h = state.hotspots.get(id), p = h.p, box = $('popup');
    const rows = [['class', LABEL[p['class']] || p['class']], ['max', tempText(p)],
      ['mean', p.mean_c != null ? tempText({ max_c: p.mean_c, radiometric: p.radiometric }) : ''],
      ['area', p.area_m2 != null ? p.area_m2.toFixed(2) + ' m²' : ''], ['MGRS', p.mgrs || ''],
      ['lat, lon', h.lat.toFixed(6) + ', ' + h.lon.toFixed(6)],
      ['± (1σ)', p.uncertainty_m != null ? p.uncertainty_m.toFixed(1) + ' m' : ''],
      ['first seen', p.first_seen_utc || ''], ['last seen', (p.last_seen_utc || '') + ' (' + ageText(p.last_seen_utc) + ')'],
      ['frames', p.n_frames != null ? String(p.n_frames) : '']];
    const table = el('table');
    rows.forEach(function (r) {
      const tr = el('tr'); tr.appendChild(el('td', '', r[0])); tr.appendChild(el('td', '', r[1])); table.appendChild(tr);
    });
    const close = el('button', 'close', '×');
    close.title = 'close';
    close.addEventListener('click', function () { box.hidden = true; });
    box.replaceChildren(close, el('h3', '', 'Hotspot ' + id), table);
    box.hidden = false;
  }

  // ---- drone ---------------------------------------------------------------------------
  function setDrone(d) {
    if (!d || d.lat_deg == null || d.lon_deg == null) return;
    state.drone = d;
    state.droneWall = Date.now();
    const last = state.track[state.track.length - 1];
    if (!last || last[0] !== d.lon_deg || last[1] !== d.lat_deg) {
      state.track.push([d.lon_deg, d.lat_deg]);
      if (state.track.length > TRACK_MAX) state.track.shift();
    }
    if (!state.centred) centreOn(d.lon_deg, d.lat_deg, START_ZOOM);
    else if (state.follow) { const w = project(d.lon_deg, d.lat_deg); setView(w[0], w[1]); }
    scheduleDraw();
  }
  function centreOn(lon, lat, zoom) {
    const w = project(lon, lat);
    state.centred = true;
    setView(w[0], w[1], zoom === undefined ? Math.max(state.zoom, START_ZOOM - 1) : zoom);
  }
  function fitMosaic() {
    const m = state.mosaics[state.kind];
    if (!m || !m.bounds_lonlat) return false;
    const b = m.bounds_lonlat, nw = project(b[0], b[3]), se = project(b[2], b[1]);
    const span = Math.max(se[0] - nw[0], se[1] - nw[1], 1e-9);
    const zoom = Math.log2(Math.min(width, height) * 0.9 / (span * TILE));
    state.centred = true;
    setView((nw[0] + se[0]) / 2, (nw[1] + se[1]) / 2, Math.floor(zoom * 2) / 2);
    return true;
  }

  // ---- status, legend, banner ------------------------------------------------------------
  function applyStatus(s) {
    state.status = s;
    state.serverOffsetS = s.time_utc_s - Date.now() / 1000;
    const hadMosaic = Object.keys(state.mosaics).length > 0;
    state.mosaics = s.mosaics || {};
    state.radiometric = s.radiometric !== false;
    $('banner').hidden = state.radiometric;
    const lg = s.legend;
    if (lg) {
      $('legend-bar').style.background = 'linear-gradient(to right,' + lg.colours.join(',') + ')';
      $('legend-lo').textContent = Math.round(lg.lo_c) + (lg.unit === '°C' ? ' °C' : '');
      $('legend-hi').textContent = Math.round(lg.hi_c) + (lg.unit === '°C' ? ' °C' : '');
      $('legend-mode').textContent = (lg.adaptive ? 'adaptive span' : 'fixed span') + (lg.unit === '°C' ? '' : ', relative values');
      const key = lg.lo_c + ':' + lg.hi_c;
      if (state.legendKey && key !== state.legendKey) refreshTiles();
      state.legendKey = key;
    }
    $('legend').hidden = state.kind !== 'thermal';
    $('kind').hidden = !(state.mosaics.thermal && state.mosaics.rgb);
    showCounters(s.live || {});
    if (!hadMosaic && !state.centred && !state.drone) fitMosaic();
    scheduleDraw();
  }
  // The counters that matter in the command centre, in this order; all of them in the tooltip.
  const COUNTERS = [['frames_received', 'frames'], ['frames_processed', 'processed'],
    ['frames_mosaicked', 'mosaicked'], ['mosaic_taken', 'mosaicked'], ['hotspots', 'hotspots'],
    ['alert_latency_p95_ms', 'alert p95 ms'], ['dropped_no_pose', 'no pose'],
    ['frames_corrupt', 'corrupt'], ['frames_overflow', 'overflow']];
  function showCounters(live) {
    const fmt = function (v) { return Number.isInteger(v) ? String(v) : v.toFixed(1); };
    const keys = Object.keys(live).filter(function (k) { return typeof live[k] === 'number'; });
    let parts = COUNTERS.filter(function (c) { return typeof live[c[0]] === 'number'; })
      .map(function (c) { return c[1] + ' ' + fmt(live[c[0]]); });
    if (!parts.length) parts = keys.slice(0, 6).map(function (k) { return k.replace(/_/g, ' ') + ' ' + fmt(live[k]); });
    const c = $('counters');
    c.textContent = parts.join(' · ');
    c.title = keys.map(function (k) { return k + ': ' + fmt(live[k]); }).join('\n');
  }
  async function loadStatus() {
    try { applyStatus(await getJSON('status.json')); } catch (e) { setConn(false, 'server unreachable'); }
  }
  async function loadHotspots() {
    try {
      const fc = await getJSON('hotspots.geojson');
      if (fc.dronepipe && fc.dronepipe.radiometric === false) state.radiometric = false;
      fc.features.map(featureOf).filter(Boolean).sort(function (a, b) { return a.id - b.id; })
        .forEach(function (f) { upsertHotspot(f, state.loaded); });
      renderAlerts(); scheduleDraw();
    } catch (e) { /* the status poll shows the connection state */ }
  }
  async function loadDrone() {
    try { const d = await getJSON('drone.json'); if (d) setDrone(d); } catch (e) { /* as above */ }
  }
  async function loadAll() {
    await loadStatus();
    await Promise.all([loadDrone(), loadHotspots()]);
    state.loaded = true;
  }
  const loadStatusSoon = throttle(loadStatus, 1000);
  const loadHotspotsSoon = throttle(loadHotspots, 300);
  const loadDroneSoon = throttle(loadDrone, 500);

  // ---- the event stream ------------------------------------------------------------------
  function setConn(on, text) {
    const c = $('conn');
    c.className = 'conn ' + (on ? 'on' : 'off');
    c.textContent = text;
  }
  let source = null;
  function connect() {
    source = new EventSource(withToken('events'));
    source.onopen = function () { setConn(true, 'live'); loadAll(); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        setConn(false, 'disconnected'); source.close(); setTimeout(connect, 3000);
      } else setConn(false, 'reconnecting…');
    };
    source.addEventListener('hotspot', function (ev) {
      const f = featureOf(JSON.parse(ev.data));
      if (f) { upsertHotspot(f, true); renderAlertsSoon(); scheduleDraw(); } else loadHotspotsSoon();
    });
    source.addEventListener('drone', function (ev) {
      const d = JSON.parse(ev.data);
      if (d && d.lat_deg != null) setDrone(d); else loadDroneSoon();
    });
    source.addEventListener('mosaic', function () { refreshTilesSoon(); loadStatusSoon(); });
    source.addEventListener('status', function () { loadStatusSoon(); });
    source.addEventListener('resync', function () { loadAll(); refreshTiles(); });
  }

  // ---- interaction -----------------------------------------------------------------------
  const pointers = new Map();
  let pinch = null;
  function userMoved() { state.follow = false; $('follow').classList.remove('on'); }
  mapEl.addEventListener('pointerdown', function (e) {
    if (e.target.closest('#controls, #popup, .hs-marker')) return;
    mapEl.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    mapEl.classList.add('dragging');
    $('popup').hidden = true;
    if (pointers.size === 2) {
      const p = Array.from(pointers.values());
      pinch = { d: Math.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]), zoom: state.zoom };
    }
  });
  mapEl.addEventListener('pointermove', function (e) {
    const rect = mapEl.getBoundingClientRect();
    const ll = unproject.apply(null, toWorld(e.clientX - rect.left, e.clientY - rect.top));
    $('cursor').textContent = ll[1].toFixed(6) + ', ' + ll[0].toFixed(6);
    const prev = pointers.get(e.pointerId);
    if (!prev) return;
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    if (pointers.size === 2 && pinch) {
      const p = Array.from(pointers.values());
      const d = Math.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]);
      zoomAround((p[0][0] + p[1][0]) / 2 - rect.left, (p[0][1] + p[1][1]) / 2 - rect.top,
        pinch.zoom + Math.log2(d / pinch.d));
      userMoved();
    } else if (pointers.size === 1) {
      const s = worldPx();
      setView(state.cx - (e.clientX - prev[0]) / s, state.cy - (e.clientY - prev[1]) / s);
      userMoved();
    }
  });
  function pointerUp(e) {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (pointers.size === 0) mapEl.classList.remove('dragging');
  }
  mapEl.addEventListener('pointerup', pointerUp);
  mapEl.addEventListener('pointercancel', pointerUp);
  mapEl.addEventListener('wheel', function (e) {
    e.preventDefault();
    const rect = mapEl.getBoundingClientRect();
    const step = e.deltaMode === 1 ? e.deltaY * 0.1 : e.deltaY * 0.005;
    zoomAround(e.clientX - rect.left, e.clientY - rect.top, state.zoom - clamp(step, -1, 1));
  }, { passive: false });
  mapEl.addEventListener('dblclick', function (e) {
    const rect = mapEl.getBoundingClientRect();
    zoomAround(e.clientX - rect.left, e.clientY - rect.top, Math.round(state.zoom) + 1);
  });
  mapEl.addEventListener('keydown', function (e) {
    const s = worldPx(), k = e.key;
    if (k === '+' || k === '=') zoomAround(width / 2, height / 2, state.zoom + 1);
    else if (k === '-') zoomAround(width / 2, height / 2, state.zoom - 1);
    else if (k.indexOf('Arrow') === 0) {
      const dx = k === 'ArrowLeft' ? -100 : k === 'ArrowRight' ? 100 : 0;
      const dy = k === 'ArrowUp' ? -100 : k === 'ArrowDown' ? 100 : 0;
      setView(state.cx + dx / s, state.cy + dy / s); userMoved();
    }
  });
  $('zoom-in').addEventListener('click', function () { zoomAround(width / 2, height / 2, Math.round(state.zoom) + 1); });
  $('zoom-out').addEventListener('click', function () { zoomAround(width / 2, height / 2, Math.round(state.zoom) - 1); });
  $('follow').addEventListener('click', function () {
    state.follow = !state.follow;
    $('follow').classList.toggle('on', state.follow);
    if (state.follow && state.drone) { const w = project(state.drone.lon_deg, state.drone.lat_deg); setView(w[0], w[1]); }
  });
  $('fit').addEventListener('click', function () { if (fitMosaic()) userMoved(); });
  $('kind').addEventListener('click', function () {
    state.kind = state.kind === 'thermal' ? 'rgb' : 'thermal';
    $('kind').textContent = state.kind;
    $('legend').hidden = state.kind !== 'thermal';
    scheduleDraw();
  });
  window.addEventListener('resize', resize);

  // ---- start -----------------------------------------------------------------------------
  resize();
  connect();
  loadAll();
  setInterval(loadStatus, STATUS_POLL_MS);
  setInterval(function () {
    renderAlerts();
    $('clock').textContent = new Date(nowUtcS() * 1000).toISOString().substring(11, 19) + ' UTC';
  }, 1000);
}());
