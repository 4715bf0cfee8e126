"""The isolation's paperwork: the resident's page, symptoms, services, visits, release."""
