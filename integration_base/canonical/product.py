"""Canonical product -> ``product.product`` (a service sold by the source; inbound only)."""

from odoo import models

from ..exceptions import BusinessError
from ..values import to_amount


class IntegrationCanonicalProduct(models.AbstractModel):
    _name = "integration.canonical.product"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical product (product.product)"
    _archive_on_delete = True

    def _apply_record(self, message, event, product):
        company = event.backend_id.company_id
        if product:
            self._write_changed(product, self._product_vals(self._owned_filter(message, event, product), company))
            return self._finish(message, event, product, "updated")
        data = message["data"]
        vals = self._product_vals(data, company)
        product = self._product_by_sku(data.get("sku"), company)
        if product:
            product.write(vals)
            return self._finish(message, event, product, "linked")
        vals.update(type="service", sale_ok=True, purchase_ok=False)
        product = self.env["product.product"].with_context(active_test=False).create(vals)
        return self._finish(message, event, product, "created")

    def _product_vals(self, data, company):
        vals = {}
        if "name" in data:
            vals["name"] = data["name"]
        if "description" in data:
            vals["description_sale"] = data["description"] or False
        if "active" in data:
            vals["active"] = bool(data["active"])
        if data.get("sku"):
            vals["default_code"] = data["sku"]
        # a list price only makes sense in the company's currency
        if data.get("list_price") not in (None, "") and data.get("currency") == company.currency_id.name:
            vals["list_price"] = to_amount(data["list_price"])
        return vals

    def _product_by_sku(self, sku, company):
        """The one product with internal reference ``sku`` (archived included), or an empty recordset.

        :raise BusinessError: (mapping) when several products share it
        """
        Product = self.env["product.product"].with_context(active_test=False)
        if not sku:
            return Product
        product = Product.search([("default_code", "=", sku), ("company_id", "in", (False, company.id))], limit=2)
        if len(product) > 1:
            raise BusinessError(
                self.env._("%(count)s products have the internal reference %(sku)s", count=len(product), sku=sku),
                category="mapping",
                hint=self.env._("Give each product its own internal reference, then retry."),
                records=product,
            )
        return product
