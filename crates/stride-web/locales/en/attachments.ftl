# attachments
