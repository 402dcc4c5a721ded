-- The department whose queue receives leads from the public web form (NULL: the form is off).
ALTER TABLE org_settings ADD COLUMN lead_form_department_id INTEGER REFERENCES departments (id);
