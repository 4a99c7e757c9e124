// Progressive enhancement only: every page works without this script.
// 1. "Gửi lại OTP" waits for the time the server gave (data-wait-seconds), counting down;
//    the code's own lifetime (data-expires-seconds) counts down too. Neither is a live region
//    (a screen reader would speak every second): one polite message when each runs out.
// 3. "Hiện mật khẩu" beside every password field shows what is typed (a button only the
//    script adds: without the script the field stays as browsers draw it).
// 2. The password checklist ticks the rules a browser can judge while the person types;
//    the server checks every rule again on submit and its errors are always shown.
(function () {
  "use strict";

  function announce(text) {
    var news = document.querySelector("[data-countdown-news]");
    if (news) news.textContent = text;
  }

  function expiry(box) {
    var left = parseInt(box.getAttribute("data-expires-seconds"), 10) || 0;
    var shown = box.querySelector("[data-expiry-left]");
    if (left <= 0 || !shown) return;
    function tick() {
      if (left <= 0) {
        box.textContent = "Mã này đã hết hạn. Hãy yêu cầu mã mới.";
        announce("Mã OTP đã hết hạn. Hãy yêu cầu mã mới.");
        return;
      }
      var seconds = left % 60;
      shown.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function countdown(button) {
    var left = parseInt(button.getAttribute("data-wait-seconds"), 10) || 0;
    if (left <= 0) return;
    var form = button.form;
    var wait = form ? form.querySelector("#resend-wait") : null;
    var label = button.textContent;
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        if (wait) wait.textContent = "Bạn có thể yêu cầu gửi lại mã OTP.";
        announce("Bạn có thể yêu cầu gửi lại mã OTP.");
        return;
      }
      button.textContent = label + " (" + left + " giây)";
      var span = wait ? wait.querySelector("[data-countdown]") : null;
      if (span) span.textContent = String(left);
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  // The rules a browser can judge while typing; the others wait for the service. The least
  // length is the owner's (profile's password_policy), carried by the list.
  var LIVE_RULES = {
    min_length: function (p, list) {
      return p.length >= parseInt(list.getAttribute("data-min-length") || "8", 10);
    },
    lowercase: function (p) { return /\p{Ll}/u.test(p); },
    uppercase: function (p) { return /\p{Lu}/u.test(p); },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p) { return /[^\p{L}\p{N}\s]/u.test(p); }
  };

  function checklist(list) {
    var input = document.getElementById(list.getAttribute("data-password-rules"));
    var status = list.parentNode.querySelector("[data-password-rules-status]");
    if (!input) return;
    var items = list.querySelectorAll("li[data-live]");
    function update() {
      var value = input.value, met = 0;
      items.forEach(function (item) {
        var judge = LIVE_RULES[item.getAttribute("data-rule")];
        if (!judge) return;
        var ok = judge(value, list);
        item.classList.toggle("met", ok);
        item.classList.toggle("unmet", !ok && value.length > 0);
        item.querySelector(".rule-state").textContent = ok ? " — đã đạt" : (value ? " — chưa đạt" : "");
        if (ok) met += 1;
      });
      if (status) status.textContent = "Đã đạt " + met + " trên " + items.length + " yêu cầu.";
    }
    input.addEventListener("input", update);
    if (input.value) update();
  }

  function showPasswordButton(input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button show-password";
    button.textContent = "Hiện mật khẩu";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var shown = input.type === "password";
      input.type = shown ? "text" : "password";
      button.textContent = shown ? "Ẩn mật khẩu" : "Hiện mật khẩu";
      button.setAttribute("aria-pressed", shown ? "true" : "false");
    });
    input.insertAdjacentElement("afterend", button);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".field input[type=password]").forEach(showPasswordButton);
    document.querySelectorAll("button[data-wait-seconds]").forEach(countdown);
    document.querySelectorAll("[data-expires-seconds]").forEach(expiry);
    document.querySelectorAll("[data-password-rules]").forEach(checklist);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  });
})();
