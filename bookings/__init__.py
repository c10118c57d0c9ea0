"""Online booking: the shop's capacity (opening hours, holidays, work types), free slots, bookings.

Layer: above reminders and analytics, below workspace. It may import crm, customers, interactions,
reminders and analytics; nothing below it imports bookings.
"""
