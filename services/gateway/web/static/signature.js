// Digital-signature pages (see services/gateway/web/signing.py).
// 1. SIM waiting screen: polls the flow's status route and goes on once the phone answered;
//    without this script the "Tôi đã xác nhận trên điện thoại" button checks by reloading.
// 2. USB signing page: talks to the local signing agent (dvcid signer). The PIN goes only to
//    the agent; the portal receives the certificate, its chain and the signature. A token with
//    its own PIN prompt (PIN pad, the driver's dialog: "pin_pad") is asked no PIN here at all.
(function () {
  "use strict";

  function simPoll(box) {
    var url = box.getAttribute("data-sim-poll");
    var every = parseInt(box.getAttribute("data-poll-ms"), 10) || 1500;
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          if (answer.next) { window.location.assign(answer.next); return; }
          window.setTimeout(ask, every);
        })
        .catch(function () { window.setTimeout(ask, every * 2); });
    }
    window.setTimeout(ask, every);
  }

  function show(el, on) { if (el) el.hidden = !on; }

  function usbSigner(root) {
    var agent = root.getAttribute("data-signer-url").replace(/\/+$/, "");
    var challenge = root.getAttribute("data-challenge");
    var status = document.getElementById("usb-status");
    var noAgent = document.getElementById("usb-no-agent");
    var noToken = document.getElementById("usb-no-token");
    var formBox = document.getElementById("usb-form");
    var select = document.getElementById("usb-certificate");
    var pin = document.getElementById("usb-pin");
    var pinField = document.getElementById("usb-pin-field");
    var pinPad = document.getElementById("usb-pin-pad");
    var pinPads = {};
    var error = document.getElementById("usb-error");
    var button = document.getElementById("usb-sign");
    var submit = document.getElementById("usb-submit");

    function say(text) { status.textContent = text; show(status, !!text); }
    function fail(text) { error.textContent = text; show(error, true); button.disabled = false; }
    function getJson(path) {
      return fetch(agent + path, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); });
    }

    say("Đang kết nối với chương trình ký số…");
    getJson("/v1/status")
      .then(function (st) {
        var tokens = (st && st.tokens) || [];
        if (!tokens.length) { say(""); show(noToken, true); return null; }
        return getJson("/v1/certificates");
      }, function () { say(""); show(noAgent, true); return null; })
      .then(function (listed) {
        if (!listed) return;
        var certificates = listed.certificates || [];
        if (!certificates.length) { say(""); show(noToken, true); return; }
        certificates.forEach(function (c) {
          var option = document.createElement("option");
          option.value = c.id;
          option.textContent = (c.subject_cn || c.subject) + " — " + (c.uid || "") +
            " (" + (c.issuer_cn || c.issuer) + ", hết hạn " + String(c.not_after).slice(0, 10) + ")";
          select.appendChild(option);
          pinPads[c.id] = !!c.pin_pad;
        });
        say("");
        show(formBox, true);
        choosePin();
      });

    function usesPinPad() { return !!pinPads[select.value]; }
    function choosePin() {
      show(pinField, !usesPinPad());
      show(pinPad, usesPinPad());
      if (usesPinPad()) { pin.value = ""; button.focus(); } else { pin.focus(); }
    }
    select.addEventListener("change", choosePin);

    button.addEventListener("click", function () {
      show(error, false);
      if (!usesPinPad() && !pin.value) { fail("Vui lòng nhập mã PIN."); pin.focus(); return; }
      button.disabled = true;
      say(usesPinPad() ? "Vui lòng nhập mã PIN trên thiết bị ký số…" : "Đang ký…");
      fetch(agent + "/v1/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ certificate_id: select.value, challenge: challenge,
                               pin: usesPinPad() ? "" : pin.value })
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        pin.value = "";
        if (!answer.ok) { say(""); fail(answer.body.detail || "Không ký được."); return; }
        submit.elements.certificate.value = answer.body.certificate;
        submit.elements.chain.value = (answer.body.chain || []).join("\n");
        submit.elements.signature.value = answer.body.signature;
        say("Đã ký, đang gửi lên Cổng…");
        submit.submit();
      }, function () {
        say(""); fail("Mất kết nối với chương trình ký số. Vui lòng kiểm tra rồi thử lại.");
      });
    });
    pin.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); button.click(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-sim-poll]");
    if (box) simPoll(box);
    var root = document.getElementById("usb-signer");
    if (root) usbSigner(root);
  });
})();
