-- A batch run's position among the batch's items, so a batch lists its runs in item order.
ALTER TABLE runs ADD COLUMN batch_index integer;
