import { registry } from "@web/core/registry";

/**
 * A finance user finds a new exception in the kanban, reads what happened
 * and what to do, and ignores it with a reason.
 */
registry.category("web_tour.tours").add("integration_exception_ignore", {
    url: "/odoo/action-integration_base.action_integration_exception",
    steps: () => [
        {
            content: "the new exception is on the board",
            trigger: ".o_kanban_group:contains('New') .o_kanban_record:contains('Schema violation')",
            run: "click",
        },
        {
            content: "the form says what happened, in plain words",
            trigger: ".alert-warning:contains('does not have the shape the suite expects')",
        },
        {
            content: "and what to do",
            trigger: ".alert-info:contains('Edit and retry')",
        },
        {
            content: "the offending field is named",
            trigger: ".o_field_widget[name=pointer]:contains('/data/email')",
        },
        {
            content: "ignore it",
            trigger: ".o_form_statusbar button:contains('Ignore')",
            run: "click",
        },
        {
            content: "say why",
            trigger: ".modal .o_field_widget[name=reason] textarea",
            run: "edit Test message sent by mistake",
        },
        {
            content: "confirm",
            trigger: ".modal footer button:contains('Ignore')",
            run: "click",
        },
        {
            content: "the exception is closed",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Ignored')",
        },
    ],
});
