"""Imports every model so the metadata (and Alembic) sees the whole schema."""

from ordergate.auth.models import User, VendorMembership, WebSession
from ordergate.catalog.models import CatalogImportRun, GtinMapping, MarketplaceProduct, Product
from ordergate.db import Base
from ordergate.events.models import Event
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.orders.models import (
    FulfilmentRequest,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)
from ordergate.vendors.models import Vendor
from ordergate.webhooks.models import VendorWebhook, WebhookDelivery

__all__ = [
    "Base",
    "CatalogImportRun",
    "Event",
    "FulfilmentRequest",
    "GtinMapping",
    "LetzshopCredentials",
    "MarketplaceProduct",
    "Order",
    "OrderItem",
    "OrderItemException",
    "OrderItemUnit",
    "Product",
    "SyncRun",
    "User",
    "Vendor",
    "VendorMembership",
    "VendorWebhook",
    "WebSession",
    "WebhookDelivery",
]
