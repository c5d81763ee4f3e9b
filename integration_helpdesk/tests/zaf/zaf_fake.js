/*
 * A fake of the Zendesk Apps framework's client (ZAFClient), for tests.
 *
 * It offers what the app uses -- ZAFClient.init(), client.metadata(),
 * client.get(), client.invoke(), client.on() and client.request() -- and
 * behaves as Zendesk does where it matters: metadata() has no secure
 * setting, and request() goes through the proxy (POST /__zaf_proxy of the
 * test's fake Zendesk), which puts secure settings into the request on the
 * server side and calls the real endpoint. window.__ZAF_FAKE__ (settings,
 * ticket data) is written by the fake Zendesk into the page.
 */
(function () {
  "use strict";
  var config = window.__ZAF_FAKE__;
  window.__ZAF_INVOKED__ = [];

  function request(options) {
    return fetch("/__zaf_proxy", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(options)
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (answer) {
        if (answer.status >= 200 && answer.status < 300) {
          return options.dataType === "json" ? JSON.parse(answer.body) : answer.body;
        }
        var error = { status: answer.status, responseText: answer.body };
        try {
          error.responseJSON = JSON.parse(answer.body);
        } catch (ignored) {
          error.responseJSON = undefined;
        }
        throw error;
      });
  }

  window.ZAFClient = {
    init: function () {
      return {
        metadata: function () {
          return Promise.resolve({ appId: 0, installationId: 1, settings: config.settings });
        },
        get: function (path) {
          var answer = {};
          answer[path] = config.ticket[path];
          return Promise.resolve(answer);
        },
        invoke: function (name, args) {
          window.__ZAF_INVOKED__.push([name, args]);
          return Promise.resolve({});
        },
        on: function (name, handler) {
          if (name === "app.registered") {
            setTimeout(function () {
              handler({ metadata: { settings: config.settings } });
            }, 0);
          }
        },
        request: request
      };
    }
  };
})();
