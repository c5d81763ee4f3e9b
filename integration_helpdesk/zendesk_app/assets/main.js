/*
 * Odoo billing: a Zendesk ticket-sidebar app (Zendesk Apps framework 2.0).
 *
 * It asks Odoo's billing-context API for the ticket requester's billing
 * through Zendesk's proxy (client.request, cors: false) with the secure
 * setting {{setting.token}}: Zendesk's server puts the key in the
 * Authorization header, the agent's browser never sees it. Every value is
 * written with textContent (no HTML from the answer is interpreted).
 */
(function () {
  "use strict";

  var ENTITLEMENTS = {
    active: "Active",
    grace: "Grace period",
    suspended: "Suspended",
    ended: "Ended",
    none: "No subscription"
  };
  var DUNNING = { failing: "Payments failing", past_due: "Past due", ok: "Payments OK" };
  var client = ZAFClient.init();
  var root = document.getElementById("app");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function money(value) {
    return value ? value.amount + " " + value.currency : "–";
  }

  function fact(list, name, label, text, tone) {
    list.appendChild(el("dt", {}, [label]));
    list.appendChild(el("dd", { "data-field": name, class: tone || "" }, [text]));
  }

  function paymentMethod(method) {
    if (!method) {
      return "None on file";
    }
    var name = method.brand || method.type;
    var text = name.charAt(0).toUpperCase() + name.slice(1) + (method.last4 ? " •••• " + method.last4 : "");
    if (method.exp_month && method.exp_year) {
      text += (method.expired ? ", expired " : ", expires ") + ("0" + method.exp_month).slice(-2) + "/" + method.exp_year;
    }
    return text;
  }

  function header(context) {
    var link = el("a", { href: context.customer.odoo_url, target: "_blank", rel: "noopener", "data-field": "odoo_link" }, [
      "Open in Odoo"
    ]);
    var state = context.entitlement;
    var badges = el("p", { class: "badges" }, [
      el("span", { class: "badge badge-" + state, "data-field": "entitlement" }, [ENTITLEMENTS[state] || state]),
      el("span", { class: "badge badge-dunning-" + context.dunning.status, "data-field": "dunning" }, [
        DUNNING[context.dunning.status] || context.dunning.status
      ])
    ]);
    return [el("header", {}, [el("h2", { "data-field": "customer" }, [context.customer.name]), link]), badges];
  }

  function facts(context) {
    var list = el("dl", { class: "facts" });
    var plans = context.subscriptions.filter(function (sub) {
      return sub.entitlement === "active" || sub.entitlement === "grace";
    });
    fact(
      list,
      "plan",
      "Plan",
      plans.length
        ? plans
            .map(function (sub) {
              return sub.plan_name + " × " + sub.quantity + " (" + sub.status.replace("_", " ") + ")";
            })
            .join(", ")
        : "–"
    );
    fact(list, "mrr", "MRR", money(context.mrr));
    fact(list, "next_invoice", "Next invoice", context.next_invoice_date || "–");
    var overdue = context.amount_overdue;
    fact(
      list,
      "overdue",
      "Overdue",
      overdue.invoices ? money(overdue) + " (" + overdue.invoices + " invoice" + (overdue.invoices > 1 ? "s" : "") + ")" : "Nothing overdue",
      overdue.invoices ? "danger" : ""
    );
    fact(list, "amount_due", "Amount due", context.amount_due.length ? context.amount_due.map(money).join(", ") : "Nothing due");
    var last = context.last_payment;
    fact(list, "last_payment", "Last payment", last ? last.amount + " " + last.currency + " on " + last.date : "None");
    var method = context.payment_method;
    fact(list, "payment_method", "Payment method", paymentMethod(method), method && method.expired ? "danger" : "");
    if (context.dunning.failed_payments) {
      fact(
        list,
        "failed_payments",
        "Failed payments",
        context.dunning.failed_payments + " open: " + (context.dunning.last_failure || ""),
        "danger"
      );
    }
    return list;
  }

  function entitlements(context) {
    var items = context.entitlements.map(function (item) {
      var until = item.until ? (item.ends ? " until " : " renews ") + item.until.slice(0, 10) : "";
      return el("li", {}, [item.plan_name + " × " + item.quantity + " – " + (ENTITLEMENTS[item.state] || item.state) + until]);
    });
    return [el("h3", {}, ["Entitlements"]), el("ul", { "data-field": "entitlements" }, items.length ? items : [el("li", {}, ["None"])])];
  }

  function invoices(context) {
    if (!context.open_invoices.length) {
      return [];
    }
    var rows = context.open_invoices.slice(0, 5).map(function (invoice) {
      return el("tr", { class: invoice.overdue ? "danger" : "" }, [
        el("td", {}, [invoice.number]),
        el("td", {}, [invoice.due_date || ""]),
        el("td", { class: "num" }, [invoice.amount_due + " " + invoice.currency])
      ]);
    });
    return [el("h3", {}, ["Open invoices"]), el("table", { "data-field": "open_invoices" }, rows)];
  }

  function show(state, nodes) {
    root.textContent = "";
    nodes.forEach(function (node) {
      root.appendChild(node);
    });
    root.setAttribute("data-state", state);
    client.invoke("resize", { width: "100%", height: Math.min(document.body.scrollHeight + 16, 640) + "px" });
  }

  function render(context) {
    show("loaded", header(context).concat([facts(context)], entitlements(context), invoices(context)));
  }

  function explain(error) {
    var status = error && error.status;
    var reason = error && error.responseJSON && error.responseJSON.error;
    if (!reason && error && error.responseText) {
      try {
        reason = JSON.parse(error.responseText).error;
      } catch (ignored) {
        reason = "";
      }
    }
    var text = {
      401: "Odoo refused the app's key: ask an administrator to check the app's settings.",
      404: "This requester is not a customer in Odoo.",
      409: "Several customers in Odoo share this e-mail address: link the right one in Odoo.",
      429: "Too many failed requests: try again in a minute."
    }[status] || "Odoo could not be reached" + (status ? " (HTTP " + status + ")" : "") + ".";
    show("error", [el("p", { class: "muted", "data-field": "error", "data-status": String(status || "") }, [text]), el("p", { class: "reason" }, [reason || ""])]);
  }

  function load() {
    Promise.all([client.metadata(), client.get("ticket.requester.email")])
      .then(function (answers) {
        var settings = answers[0].settings;
        var email = answers[1]["ticket.requester.email"];
        if (!email) {
          throw { status: 404 };
        }
        return client.request({
          url: settings.billing_context_url + "?email=" + encodeURIComponent(email),
          type: "GET",
          dataType: "json",
          cors: false,
          secure: true,
          headers: { Authorization: "Bearer {{setting.token}}" }
        });
      })
      .then(render, explain);
  }

  client.on("app.registered", load);
  client.on("ticket.requester.email.changed", load);
})();
