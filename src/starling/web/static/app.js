// Starling's web app: what script adds to pages that work without it.
// - the compose box counts characters as the server does (code points after NFC)
//   and previews the images chosen;
// - actions on a tweet (like, retweet, bookmark, delete) happen in place (fetch);
// - "Load more" appends the next page in place;
// - a live stream (Server-Sent Events) announces new tweets, shown on a click, and
//   keeps the notifications badge current.
// No inline script anywhere: the Content-Security-Policy allows only this file.
"use strict";

(function () {
  const MAX_CHARS = 280;
  const MAX_IMAGES = 4;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "X-Fragment": "1" },
    });
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // --- compose: characters left and image previews --------------------------------
  function length(text) {
    // The API's rule: code points after NFC (a string iterator yields code points).
    return [...text.normalize("NFC")].length;
  }

  function setupCompose(form) {
    const box = form.querySelector("textarea[data-count]");
    const left = form.querySelector("output");
    const submit = form.querySelector('button[type="submit"]');
    const files = form.querySelector("input[data-previews]");
    const previews = form.querySelector("[data-preview-list]");
    function update() {
      const remaining = MAX_CHARS - length(box.value);
      left.value = String(remaining);
      left.textContent = String(remaining);
      left.classList.toggle("over", remaining < 0);
      submit.disabled = remaining < 0;
    }
    if (box && left && submit) {
      box.addEventListener("input", update);
      update();
    }
    if (files && previews) {
      files.addEventListener("change", function () {
        previews.replaceChildren();
        const chosen = Array.from(files.files || []);
        if (chosen.length > MAX_IMAGES) {
          const note = document.createElement("p");
          note.className = "error";
          note.setAttribute("role", "alert");
          note.textContent = "Up to " + MAX_IMAGES + " images per tweet.";
          previews.append(note);
          files.value = "";
          return;
        }
        chosen.forEach(function (file, i) {
          const img = document.createElement("img");
          img.src = URL.createObjectURL(file);
          img.alt = "Preview of image " + (i + 1);
          img.onload = function () { URL.revokeObjectURL(img.src); };
          previews.append(img);
        });
      });
    }
  }

  // --- actions on tweets, in place --------------------------------------------------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inplace")) {
      return;
    }
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    post(form.action, new FormData(form))
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (form.hasAttribute("data-removes")) {
          const article = form.closest("article");
          if (article) article.remove();
          return;
        }
        const actions = form.closest("[data-actions]");
        if (actions) {
          // Keyboard users keep their place: focus the same button in the new actions.
          const index = Array.from(actions.querySelectorAll("form")).indexOf(form);
          const replacement = fragment(html).firstElementChild;
          if (replacement) {
            actions.replaceWith(replacement);
            const again = replacement.querySelectorAll("form button")[index];
            if (again) again.focus();
          }
        }
      })
      .catch(function () {
        form.submit(); // fall back to the plain form
      });
  });

  // --- "Load more" in place ---------------------------------------------------------
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[data-load-more]");
    if (!link) return;
    event.preventDefault();
    const feed = link.closest("[data-feed]");
    fetch(link.href, { credentials: "same-origin", headers: { "X-Fragment": "1" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        const parts = fragment(html);
        const items = parts.querySelector("[data-feed-items]");
        const list = feed.querySelector("[data-feed-items]");
        if (items && list) list.append(...items.children);
        const more = parts.querySelector("[data-more]");
        const old = link.closest("[data-more]");
        if (more) old.replaceWith(more); else old.remove();
      })
      .catch(function () { window.location.href = link.href; });
  });

  // --- live updates -----------------------------------------------------------------
  function setupLive(url) {
    const home = document.querySelector("[data-feed][data-home]");
    const announce = home ? home.querySelector("#new-tweets") : null;
    const badge = document.getElementById("unread-badge");
    const pending = new Set();

    function shown(id) {
      return document.querySelector('article[data-tweet-id="' + id + '"]') !== null;
    }

    function announceNew() {
      if (!announce) return;
      const n = pending.size;
      announce.textContent = n === 1 ? "1 new tweet" : n + " new tweets";
      announce.hidden = n === 0;
    }

    if (announce) {
      announce.addEventListener("click", function () {
        const list = home.querySelector("[data-feed-items]");
        const first = list.querySelector("article[data-tweet-id]");
        const after = first ? first.dataset.tweetId : "0";
        fetch("/fragments/new?after=" + encodeURIComponent(after), {
          credentials: "same-origin",
          headers: { "X-Fragment": "1" },
        })
          .then(function (response) {
            if (!response.ok) throw new Error("HTTP " + response.status);
            return response.text();
          })
          .then(function (html) {
            const items = fragment(html).querySelector("[data-feed-items]");
            if (items) {
              const fresh = Array.from(items.children).filter(function (a) {
                return !shown(a.dataset.tweetId);
              });
              list.prepend(...fresh);
              const empty = home.querySelector(".empty");
              if (empty) empty.remove();
            }
            pending.clear();
            announceNew();
          });
      });
    }

    const source = new EventSource(url);
    // The state shows on the body (tests and curious people can tell it is connected).
    source.addEventListener("open", function () { document.body.dataset.liveState = "open"; });
    source.addEventListener("error", function () { document.body.dataset.liveState = "connecting"; });
    source.addEventListener("tweet", function (event) {
      if (!home || shown(event.data)) return;
      pending.add(event.data);
      announceNew();
    });
    source.addEventListener("notification", function () {
      if (!badge) return;
      const n = (parseInt(badge.textContent, 10) || 0) + 1;
      badge.textContent = String(n);
      badge.hidden = false;
    });
  }

  document.querySelectorAll("form.compose").forEach(setupCompose);
  const live = document.body.dataset.live;
  if (live && "EventSource" in window) setupLive(live);
})();
