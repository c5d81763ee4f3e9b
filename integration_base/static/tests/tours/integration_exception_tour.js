import { registry } from "@web/core/registry";

/**
 * A finance user finds a new exception in the kanban, reads what happened
 * and what to do, and ignores it with a reason.
 */
registry.category("web_tour.tours").add("integration_exception_ignore", {
    url: "/odoo/action-integration_base.action_integration_exception",
    steps: () => [
        {
            content: "the new exception is on the board, naming the customer and what is wrong",
            trigger:
                ".o_kanban_group:contains('New') .o_kanban_record:contains('Invalid data'):contains('UI Customer'):contains('not an e-mail address')",
            run: "click",
        },
        {
            content: "the form says what happened, in plain words",
            trigger: ".alert-warning:contains('email “not-an-email” is not an e-mail address')",
        },
        {
            content: "and what to do",
            trigger: ".alert-info:contains('Correct and retry')",
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

/**
 * A finance user corrects a refused value with the guided form (no raw
 * payload in sight) and sees the record the event makes appear.
 */
registry.category("web_tour.tours").add("integration_exception_correct", {
    url: "/odoo/action-integration_base.action_integration_exception",
    steps: () => [
        {
            content: "the card names the customer, says what is wrong and what to do",
            trigger:
                ".o_kanban_group:contains('New') .o_kanban_record:contains('Acme Widgets SA'):contains('quantity is 3000000000'):contains('Correct the values')",
            run: "click",
        },
        {
            content: "the form names the subscription and the value Odoo cannot take",
            trigger: ".alert-warning:contains('quantity is 3000000000: Odoo takes at most 2147483647')",
        },
        {
            content: "the business object is named",
            trigger: ".o_form_sheet .o_field_widget[name=subject]:contains('Subscription sub_1QbXk2Zr8sLm0Pro')",
        },
        {
            content: "no raw payload is offered to a finance user",
            trigger: ".o_form_statusbar:not(:has(button:contains('Edit raw payload')))",
        },
        {
            content: "open the guided correction",
            trigger: ".o_form_statusbar button:contains('Correct and retry')",
            run: "click",
        },
        {
            content: "the refused value is listed with what is wrong",
            trigger: ".modal .o_data_row:contains('quantity'):contains('3000000000')",
        },
        {
            content: "edit the value",
            trigger: ".modal .o_data_row .o_data_cell[name=new_value]",
            run: "click",
        },
        {
            content: "type the right quantity",
            trigger: ".modal .o_data_row .o_data_cell[name=new_value] input",
            run: "edit 3",
        },
        {
            content: "save and retry",
            trigger: ".modal footer button:contains('Save and retry')",
            run: "click",
        },
        {
            content: "the subscription appears, with the corrected quantity",
            trigger: ".o_form_view .o_field_widget[name=quantity]:contains('3'):not(:contains('3000000000'))",
        },
        {
            content: "for the right customer",
            trigger: ".o_form_view .o_field_widget[name=partner_id]:contains('Acme Widgets SA')",
        },
    ],
});
