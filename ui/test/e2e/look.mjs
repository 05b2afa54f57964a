// How the browser tests look at the page: the way a person does. Everything
// here reads what is rendered (checkVisibility, innerText, bounding boxes of
// text as laid out, canvas pixels), never a class or an attribute alone: a
// row with `hidden` that CSS still displays is on screen, and these helpers
// see it.

/**
 * The watchlist rows on screen, top to bottom: rendered, and at least partly
 * inside the list's scroll box. Cells that are not displayed read as null.
 * [{sym, last, pct, time, selected, opacity}]
 */
export async function rows(page) {
  return page.$$eval('.wl-body .wl-row', (els) => {
    const body = document.querySelector('.wl-body').getBoundingClientRect();
    const seen = (el) => el.checkVisibility({ visibilityProperty: true });
    const text = (el) => (el && seen(el) ? el.innerText.trim() : null);
    return els
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ el, r }) => seen(el) && r.height > 0 && r.bottom > body.top + 2 && r.top < body.bottom - 2)
      .sort((a, b) => a.r.top - b.r.top)
      .map(({ el }) => ({
        sym: text(el.querySelector('.c-sym')),
        last: (text(el.querySelector('.c-last')) ?? '').replace(/[▲▼]/g, '').trim(),
        pct: text(el.querySelector('.c-pct')),
        time: text(el.querySelector('.c-time')),
        // A selected row looks selected: its background differs from an unselected row's.
        selected: el.getAttribute('aria-selected') === 'true' && getComputedStyle(el).backgroundColor !== 'rgba(0, 0, 0, 0)',
        opacity: Number(getComputedStyle(el).opacity),
      }));
  });
}

/** The watchlist's column titles as shown (innerText of the displayed header cells), left to right. */
export async function columnTitles(page) {
  return page.$$eval('.wl-headrow > *', (els) =>
    els
      .filter((el) => el.checkVisibility({ visibilityProperty: true }) && el.getBoundingClientRect().width > 0)
      .sort((a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left)
      .map((el) => el.innerText.replace(/\s+/g, ' ').trim()),
  );
}

/** innerText of what a selector matches, or null when nothing rendered matches. */
export async function shown(page, selector) {
  return page.evaluate((sel) => {
    const el = [...document.querySelectorAll(sel)].find((e) => e.checkVisibility({ visibilityProperty: true }));
    return el ? el.innerText.replace(/\s+/g, ' ').trim() : null;
  }, selector);
}

/**
 * The text boxes of the watchlist's header row and of every row on screen,
 * as painted: each text node's laid-out box, clipped by any ancestor that
 * clips (so an ellipsis counts for what it shows), plus the sparkline strip
 * of each row. Returns the pairs that overlap and the boxes that leave the
 * grid, each described for the failure message.
 */
export async function textCollisions(page) {
  return page.evaluate(() => {
    const grid = document.querySelector('.wl-grid').getBoundingClientRect();
    const body = document.querySelector('.wl-body').getBoundingClientRect();
    const spark = document.querySelector('.wl-spark');
    const sparkR = spark && spark.checkVisibility({ visibilityProperty: true }) ? spark.getBoundingClientRect() : null;
    const inter = (a, b) => ({ left: Math.max(a.left, b.left), right: Math.min(a.right, b.right), top: Math.max(a.top, b.top), bottom: Math.min(a.bottom, b.bottom) });
    const lines = [...document.querySelectorAll('.wl-headrow'), ...document.querySelectorAll('.wl-body .wl-row')].filter((row) => {
      if (!row.checkVisibility({ visibilityProperty: true })) return false;
      const r = row.getBoundingClientRect();
      return row.classList.contains('wl-headrow') || (r.top >= body.top - 1 && r.bottom <= body.bottom + 1);
    });
    const overlaps = [];
    const outside = [];
    let boxesSeen = 0;
    for (const row of lines) {
      const rr = row.getBoundingClientRect();
      const boxes = [];
      const walk = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (!n.data.trim() || !n.parentElement.checkVisibility({ visibilityProperty: true })) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        let b = range.getBoundingClientRect();
        if (b.width === 0) continue;
        for (let p = n.parentElement; p && p !== row.parentElement; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== 'visible') b = inter(b, p.getBoundingClientRect());
        }
        if (b.right - b.left < 0.5) continue;
        const cell = n.parentElement.closest('.wl-row > *');
        boxes.push({ what: `${cell?.className.split(' ')[0] ?? '?'} "${n.data.trim()}"`, left: b.left, right: b.right });
      }
      if (sparkR && !row.classList.contains('wl-headrow')) boxes.push({ what: 'sparkline', left: sparkR.left, right: sparkR.right });
      boxesSeen += boxes.length;
      for (let i = 0; i < boxes.length; i++) {
        const a = boxes[i];
        if (a.left < grid.left - 0.5 || a.right > grid.right + 0.5) outside.push(`${a.what} at ${a.left.toFixed(1)}–${a.right.toFixed(1)}, grid ${grid.left.toFixed(1)}–${grid.right.toFixed(1)}`);
        for (let j = i + 1; j < boxes.length; j++) {
          const b = boxes[j];
          const o = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          if (o > 0.5) overlaps.push(`${a.what} and ${b.what} overlap by ${o.toFixed(1)} px (row at y=${rr.top.toFixed(0)})`);
        }
      }
    }
    return { rows: lines.length, boxes: boxesSeen, overlaps, outside };
  });
}

/**
 * Text a person cannot read in full: rendered elements under root whose own
 * text is clipped (content wider or taller than a box that does not let it
 * overflow), or that stick out of the viewport. Returns descriptions.
 */
export async function cutOff(page, root = 'body') {
  return page.evaluate((sel) => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const scope = document.querySelector(sel);
    for (const el of scope.querySelectorAll('*')) {
      if (!el.checkVisibility({ visibilityProperty: true }) || el.closest('[aria-hidden=true], .sr-only, canvas, svg')) continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.data.trim());
      if (!own) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const cs = getComputedStyle(el);
      const label = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${el.innerText.trim().slice(0, 40)}"`;
      if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) out.push(`${label}: ${el.scrollWidth} px of text in ${el.clientWidth} px`);
      const range = document.createRange();
      range.selectNodeContents(el);
      const t = range.getBoundingClientRect();
      if (t.width > 0 && (t.left < -0.5 || t.right > vw + 0.5)) out.push(`${label}: text at ${t.left.toFixed(0)}–${t.right.toFixed(0)} px, viewport 0–${vw}`);
      // Clipped by an ancestor that hides overflow. Scrolling containers clip
      // by design vertically: only sideways clipping by one is a cut, and
      // past one, what is left to cut is the part of the text it shows (a
      // row scrolled out of a list is not cut by the panel around the list).
      let top = t.top;
      let bottom = t.bottom;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ps = getComputedStyle(p);
        if (ps.overflowX === 'visible' && ps.overflowY === 'visible') continue;
        const pr = p.getBoundingClientRect();
        const scrollsY = ps.overflowY === 'auto' || ps.overflowY === 'scroll';
        if (t.width > 0 && (t.left < pr.left - 0.5 || t.right > pr.right + 0.5 || (!scrollsY && (top < pr.top - 0.5 || bottom > pr.bottom + 0.5)))) {
          out.push(`${label}: cut by ${p.tagName.toLowerCase()}.${[...p.classList].join('.')}`);
          break;
        }
        if (scrollsY) {
          top = Math.max(top, pr.top);
          bottom = Math.min(bottom, pr.bottom);
          if (bottom <= top) break; // scrolled out of sight
        }
      }
    }
    return out;
  }, root);
}

/** Whether the page scrolls sideways: {scrollWidth, clientWidth}. */
export async function sideways(page) {
  return page.evaluate(() => ({
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    clientWidth: document.documentElement.clientWidth,
  }));
}

/**
 * What the chart shows, read from its pixels: the candles drawn in the price
 * pane (columns holding the up or down colour, leaving out the last-price
 * line across the pane), grouped into separate candles; and the price axes'
 * boxes (one per pane).
 * {candles, spanFraction, paneWidth, axes: [{top, bottom}]}
 */
export async function chartPicture(page) {
  return page.evaluate(() => {
    const box = document.querySelector('.chart-box');
    const br = box.getBoundingClientRect();
    const dpr = devicePixelRatio;
    const all = [...box.querySelectorAll('canvas')].map((c) => ({ c, r: c.getBoundingClientRect() })).filter((x) => x.r.width > 0 && x.r.height > 0);
    // Pane canvases start at the chart's left edge; the price axes sit on the right.
    const panes = all.filter((x) => Math.abs(x.r.left - br.left) < 1 && x.r.height > 40);
    const axes = all.filter((x) => x.r.left > br.left + br.width / 2 && x.r.height > 40);
    if (!panes.length) return { candles: 0, spanFraction: 0, paneWidth: 0, axes: [] };
    const top = Math.min(...panes.map((p) => p.r.top));
    const price = panes.filter((p) => Math.abs(p.r.top - top) < 1);
    const pr = price[0].r;
    const W = Math.round(pr.width * dpr);
    const H = Math.round(pr.height * dpr);
    const off = new OffscreenCanvas(W, H);
    const ctx = off.getContext('2d');
    for (const p of price) ctx.drawImage(p.c, 0, 0, W, H);
    const px = ctx.getImageData(0, 0, W, H).data;
    const rgb = (v) => {
      const probe = document.createElement('div');
      probe.style.color = getComputedStyle(document.documentElement).getPropertyValue(v);
      document.body.append(probe);
      const m = getComputedStyle(probe).color.match(/\d+/g).map(Number);
      probe.remove();
      return m;
    };
    const colours = [rgb('--up'), rgb('--down')];
    const near = (i) => colours.some((c) => Math.abs(px[i] - c[0]) < 24 && Math.abs(px[i + 1] - c[1]) < 24 && Math.abs(px[i + 2] - c[2]) < 24 && px[i + 3] > 200);
    // The last-price line crosses the whole pane: rows mostly in a candle
    // colour are that line, not candles. Every other coloured pixel is a
    // candle's body or wick (a bar of one trade is a dash one pixel tall).
    const colour = new Uint8Array(W * H);
    const perRow = new Uint32Array(H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (near((y * W + x) * 4)) {
          colour[y * W + x] = 1;
          perRow[y]++;
        }
      }
    }
    const cols = [];
    for (let x = 0; x < W; x++) {
      let on = false;
      for (let y = 0; y < H && !on; y++) on = colour[y * W + x] === 1 && perRow[y] < 0.4 * W;
      cols.push(on);
    }
    let candles = 0;
    let first = -1;
    let last = -1;
    for (let x = 0; x < W; x++) {
      if (cols[x] && (x === 0 || !cols[x - 1])) candles++;
      if (cols[x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    return {
      candles,
      spanFraction: first < 0 ? 0 : (last - first) / W,
      paneWidth: pr.width,
      axes: axes.map((a) => ({ top: a.r.top, bottom: a.r.bottom })).filter((a, i, l) => l.findIndex((b) => Math.abs(b.top - a.top) < 1) === i),
    };
  });
}

/**
 * The ink of each watchlist row's sparkline, read from the shared canvas's
 * pixels: for every row on screen, top to bottom, the number of pixels of
 * its strip of the canvas (the canvas's rows beside the row) that are not
 * transparent. [{sym, ink}]
 */
export async function sparkInk(page) {
  return page.evaluate(() => {
    const body = document.querySelector('.wl-body').getBoundingClientRect();
    const canvas = document.querySelector('.wl-spark');
    const cr = canvas.getBoundingClientRect();
    const px = cr.height > 0 && canvas.width > 0 ? canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data : new Uint8ClampedArray(0);
    const scale = cr.height > 0 ? canvas.height / cr.height : 1;
    return [...document.querySelectorAll('.wl-body .wl-row')]
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ el, r }) => el.checkVisibility({ visibilityProperty: true }) && r.height > 0 && r.bottom > body.top + 2 && r.top < body.bottom - 2)
      .sort((a, b) => a.r.top - b.r.top)
      .map(({ el, r }) => {
        const y0 = Math.max(0, Math.round((r.top - cr.top) * scale));
        const y1 = Math.min(canvas.height, Math.round((r.bottom - cr.top) * scale));
        let ink = 0;
        for (let y = y0; y < y1; y++) for (let x = 0; x < canvas.width; x++) if (px[(y * canvas.width + x) * 4 + 3] > 0) ink++;
        return { sym: el.querySelector('.c-sym')?.innerText.trim() ?? '', ink };
      });
  });
}
